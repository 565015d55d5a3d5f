import { Gauge } from "prom-client";
import { BucketLabeller } from "../core/bucket-labeller.ts";
import { queueNamespaceOf } from "../core/buckets.ts";
import { ControllerMetrics } from "../core/controller-metrics.ts";
import { every } from "../core/periodic.ts";
import { RunActions } from "../core/run-actions.ts";
import { pipelineRunResource } from "../core/tekton.ts";
import { leaseLabels } from "../core/vocabulary.ts";
import { BucketLeases } from "../kube/bucket-leases.ts";
import { customObjectExistence, secretExistence } from "../kube/existence.ts";
import { LeaderElector } from "../kube/leader-election.ts";
import { signClaims } from "../lineage/claims.ts";
import { createCounterCollector } from "../lineage/counter-collector.ts";
import { genuineRuns } from "../lineage/genuine-runs.ts";
import { SupersedeController } from "../lineage/supersede-controller.ts";
import { PacConfigWatch } from "../pac/config-watch.ts";
import { CreationFailures } from "../pac/creation-failures.ts";
import { OrphanController } from "../pac/orphan-controller.ts";
import { createQueueMetrics } from "../queue/metrics.ts";
import { OptInCheck } from "../queue/reconcile/opt-in-check.ts";
import { QueueController, type QueueControllerOptions } from "../queue/reconcile/queue-controller.ts";
import { BucketTerms } from "./bucket-terms.ts";
import { bucketViews, clusterQueues } from "./bucket-views.ts";
import type { Component } from "./component.ts";
import { createGitLabReporting } from "./gitlab-reporting.ts";
import { createHousekeeping } from "./housekeeping.ts";
import { createReconcilerCaches } from "./reconciler-caches.ts";
import type { ServiceContext } from "./service.ts";

/**
 * The reconciler role: caches of the PipelineRuns tekton-lineage admitted (selected by label, never a
 * list of every PipelineRun), of the queue Leases and of the Repositories, and the loops that act on
 * them. With --buckets 1 the elected leader runs every loop. With more, the elected leader keeps what
 * spans the cluster (rule queues, the labeller, certificates, settings, opt-in checks) and the bucketed
 * loops (Repository queues, supersede, GitLab, PaC failures, orphans, counter collection) run in every
 * replica over the buckets it holds (BucketLeases), each term over one set of buckets (BucketTerms).
 */
export function createReconciler(context: ServiceContext): Component {
  const { config, kubeConfig, logger, registry } = context;
  const { events, leaseStore: store, leaseConflicts: conflicts, repositories, signingKeys } = context.shared;
  const sharded = config.buckets > 1;
  const caches = createReconcilerCaches(context);
  const terms = sharded
    ? new BucketTerms({
        count: config.buckets,
        caches: [caches.runs, caches.counters],
        start: (signal) => startBucketed(signal),
        drain: () => drainBucketed(),
        logger,
        lingerMs: 4 * config.leaderLeaseDuration,
      })
    : undefined;
  // The controllers act only on runs whose claims tekton-lineage signed for their name and namespace.
  const genuine = genuineRuns(caches.runs, signingKeys);
  const views = terms
    ? bucketViews(
        {
          runs: genuine,
          counters: caches.counters,
          pacEvents: caches.pacEvents,
          queueLeases: caches.queueLeases,
        },
        { count: config.buckets, owns: (ns) => terms.owns(ns) },
      )
    : {
        runs: genuine,
        queueRuns: genuine,
        counters: caches.counters,
        pacEvents: caches.pacEvents,
        queueLeases: caches.queueLeases,
      };
  const runs = views.runs;
  const counters = views.counters;
  const actions = new RunActions(kubeConfig, logger, (meta) => signClaims(signingKeys.current(), meta));
  const queueMetrics = createQueueMetrics(registry, conflicts);
  const limits = context.shared.queueLimits;
  const optInCheck = new OptInCheck({
    repositories,
    limits,
    events,
    logger,
    registry,
    globalRepositoryChanged: (changed) => context.shared.pacGlobalRepository?.onChange(changed),
  });
  const queueOptions: Omit<QueueControllerOptions, "runs" | "leases"> = {
    store,
    limits,
    writer: actions,
    events,
    metrics: queueMetrics,
    logger,
    instance: config.instanceId,
    ttlMs: config.queueTtl,
    exists: customObjectExistence(kubeConfig, pipelineRunResource),
    watchedNamespaces: config.watchNamespaces,
    waitingDelayMs: config.queuePositionDelay,
  };
  const queues = new QueueController({
    ...queueOptions,
    runs: views.queueRuns,
    leases: views.queueLeases,
    owns: terms
      ? (state) => {
          const namespace = queueNamespaceOf(state.key);
          return namespace !== undefined && terms.owns(namespace);
        }
      : undefined,
  });
  // Sharded: the rule queues, which may span buckets, are the leader's.
  const clusterQueueViews =
    caches.clusterQueueRuns &&
    clusterQueues({
      runs: genuineRuns(caches.clusterQueueRuns, signingKeys),
      queueLeases: caches.queueLeases,
    });
  const ruleQueues = clusterQueueViews
    ? new QueueController({
        ...queueOptions,
        name: "cluster-queues",
        owns: (state) => queueNamespaceOf(state.key) === undefined,
        runs: clusterQueueViews.runs,
        leases: clusterQueueViews.queueLeases,
      })
    : undefined;
  const supersede = new SupersedeController({
    runs,
    writer: actions,
    events,
    cancellations: queueMetrics.cancellations,
    logger,
  });
  // PaC's own settings (application name, console links), so its statuses are corrected, not doubled.
  const pacConfig = new PacConfigWatch({
    kubeConfig,
    namespace: config.pacNamespace,
    name: config.pacConfigMap,
    resyncMs: config.resync,
    logger,
  });
  const creationFailures = new CreationFailures(views.pacEvents);
  // Runs PaC was told it could not create and never took over: handed to its watcher, or cancelled.
  const orphans = new OrphanController({
    runs,
    creationFailures,
    writer: actions,
    events,
    logger,
    registry,
    pacConfig: () => pacConfig.current(),
    policy: config.orphanedRuns,
    graceMs: config.orphanGrace,
    secretExists: secretExistence(kubeConfig),
  });
  const { gitlab, pacFailures } = createGitLabReporting(context, {
    runs,
    counters,
    creationFailures,
    writer: actions,
    pacConfig: () => pacConfig.current(),
  });
  // Sharded: runs and counters admitted before buckets (or under another count) get their bucket.
  const labeller =
    caches.unlabelledRuns && caches.unlabelledCounters
      ? new BucketLabeller({
          runs: genuineRuns(caches.unlabelledRuns, signingKeys),
          counters: caches.unlabelledCounters,
          writer: actions,
          store,
          count: config.buckets,
          logger,
        })
      : undefined;
  const collectCounters = createCounterCollector({
    store,
    runs,
    watchedNamespaces: config.watchNamespaces,
    counters,
    grace: { graceMs: config.counterGcGrace, singleAttemptGraceMs: config.counterGcGraceSingle },
    logger,
    registry,
  });
  const housekeeping = createHousekeeping(context, { runs: { cache: caches.runs, genuine: runs } });
  const bucketed = [
    queues.controller,
    queues.waiting.controller,
    supersede.controller,
    gitlab.controller,
    pacFailures.controller,
    orphans.controller,
  ];
  // Every controller's reconciles counted by result and timed, its work queue's depth reported, and its
  // terminal errors said as Events (core/controller.ts).
  const controllerMetrics = new ControllerMetrics(registry);
  for (const shell of [
    ...bucketed,
    optInCheck.controller,
    ...(ruleQueues ? [ruleQueues.controller, ruleQueues.waiting.controller] : []),
    ...(labeller ? [labeller.controller] : []),
  ])
    shell.instrument({ metrics: controllerMetrics, events });
  // The queues' gauges speak for the queues reconciled here now: earlier values would look current.
  const resetQueueGauges = () => {
    for (const gauge of [
      queueMetrics.depth,
      queueMetrics.running,
      queueMetrics.oldestWaiting,
      queueMetrics.maxWait,
    ])
      gauge.reset();
  };
  /** The bucketed loops, for one term (sharded) or one leadership (not). */
  function startBucketed(signal: AbortSignal): void {
    if (terms) resetQueueGauges();
    queues.run(signal);
    supersede.run(signal);
    gitlab.run(signal);
    pacFailures.run(signal);
    orphans.run(signal);
    void every("attempt-counter-gc", config.counterGcInterval, collectCounters, signal, logger);
  }
  async function drainBucketed(): Promise<void> {
    await Promise.all(bucketed.map((shell) => shell.settled()));
  }
  const elector = new LeaderElector({
    store,
    name: config.leaderElectionId,
    identity: config.instanceId,
    leaseDurationMs: config.leaderLeaseDuration,
    renewDeadlineMs: config.leaderRenewDeadline,
    retryPeriodMs: config.leaderRetryPeriod,
    logger,
    onStartedLeading: (_epoch, signal) => {
      context.settingsWatch?.lead(signal);
      optInCheck.run(signal);
      if (!terms) startBucketed(signal);
      ruleQueues?.run(signal);
      labeller?.run(signal);
      housekeeping.run(signal);
    },
    onStoppedLeading: () => {
      if (!terms) resetQueueGauges();
    },
  });
  const bucketLeases = terms
    ? new BucketLeases({
        store,
        prefix: config.leaderElectionId,
        identity: config.instanceId,
        count: config.buckets,
        memberLabel: [leaseLabels.kind, "member"],
        leaseDurationMs: config.leaderLeaseDuration,
        renewDeadlineMs: config.leaderRenewDeadline,
        retryPeriodMs: config.leaderRetryPeriod,
        logger,
        onChange: (held) => void terms.change(held),
        drain: () => terms.settled(),
        leaderHolder: () => elector.observedHolder,
      })
    : undefined;
  new Gauge({
    name: "tekton_lineage_leader",
    help: "1 while this reconciler leads (runs the cluster-wide loops; with --buckets 1, every loop), else 0.",
    registers: [registry],
    collect() {
      this.set(elector.isLeader ? 1 : 0);
    },
  });
  new Gauge({
    name: "tekton_lineage_cached_runs",
    help: "PipelineRuns in this reconciler's cache (with --buckets above 1, those of the buckets it holds).",
    registers: [registry],
    collect() {
      this.set(caches.runs.size);
    },
  });
  new Gauge({
    name: "tekton_lineage_buckets_reconciled",
    help: "How many buckets this reconciler reconciles now (--buckets above 1; with 1, its leadership).",
    registers: [registry],
    collect() {
      this.set(terms ? terms.held.size : elector.isLeader ? 1 : 0);
    },
  });

  return {
    name: "reconciler",
    readiness: {
      "pipelineruns-synced": () => caches.runs.synced,
      "queue-leases-synced": () => caches.queueLeases.synced,
      "repositories-synced": () => repositories.synced,
      "attempt-counters-synced": () => caches.counters.synced,
      "pac-events-synced": () => caches.pacEvents.synced,
      ...(caches.clusterQueueRuns
        ? { "cluster-queue-runs-synced": () => caches.clusterQueueRuns?.synced ?? true }
        : {}),
    },
    start() {
      for (const informer of caches.all) informer.start();
      pacConfig.start();
      elector.start();
      bucketLeases?.start();
    },
    async stop() {
      // Buckets first, in order (their work drained, then their Leases released), then the leadership.
      await bucketLeases?.stop();
      await terms?.stop();
      await elector.stop();
      for (const informer of caches.all) informer.stop();
      pacConfig.stop();
    },
  };
}
