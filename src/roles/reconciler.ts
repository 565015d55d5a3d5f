import { Gauge } from "prom-client";
import { CertificateManager, servingNames } from "../certs/manager.ts";
import { ControllerMetrics } from "../core/controller-metrics.ts";
import { every } from "../core/periodic.ts";
import { RunActions } from "../core/run-actions.ts";
import { type PipelineRun, pipelineRunResource, trimPipelineRun } from "../core/tekton.ts";
import { labelKeys, leaseLabels } from "../core/vocabulary.ts";
import { customResourceSource } from "../kube/custom-objects.ts";
import { type CachedEvent, eventSource } from "../kube/event-source.ts";
import { customObjectExistence, secretExistence } from "../kube/existence.ts";
import { Informer } from "../kube/informer.ts";
import { LeaderElector } from "../kube/leader-election.ts";
import { type CachedLease, leaseSource, trimLease } from "../kube/leases.ts";
import { dropUnusedKeys } from "../kube/signing-keys.ts";
import { attemptLeaseKind } from "../lineage/attempts.ts";
import { signClaims } from "../lineage/claims.ts";
import { createCounterCollector } from "../lineage/counter-collector.ts";
import { genuineRuns, signingKeysInUse } from "../lineage/genuine-runs.ts";
import { SupersedeController } from "../lineage/supersede-controller.ts";
import { PacConfigWatch } from "../pac/config-watch.ts";
import { CreationFailures, pacFailureReason, trimEvent } from "../pac/creation-failures.ts";
import { OrphanController } from "../pac/orphan-controller.ts";
import { createQueueMetrics } from "../queue/metrics.ts";
import { OptInCheck } from "../queue/reconcile/opt-in-check.ts";
import { QueueController } from "../queue/reconcile/queue-controller.ts";
import { queueLeaseKind } from "../queue/state.ts";
import type { Component } from "./component.ts";
import { createGitLabReporting } from "./gitlab-reporting.ts";
import type { ServiceContext } from "./service.ts";

/**
 * The reconciler role: caches of the PipelineRuns tekton-lineage admitted (selected by label, never a
 * list of every PipelineRun), of the queue Leases and of the Repositories; on the elected leader only,
 * the loops that act on them.
 */
export function createReconciler(context: ServiceContext): Component {
  const { config, kubeConfig, logger, registry, namespace } = context;
  const { events, leaseStore: store, leaseConflicts: conflicts, repositories, signingKeys } = context.shared;
  const informedRuns = new Informer<PipelineRun>({
    name: "pipelineruns",
    kubeConfig,
    source: customResourceSource(kubeConfig, pipelineRunResource),
    namespaces: config.watchNamespaces,
    labelSelector: labelKeys.lineageId,
    transform: trimPipelineRun,
    // Small pages: each page is parsed whole before it is trimmed, so the page size bounds the peak.
    pageSize: 100,
    resyncMs: config.resync,
    logger,
  });
  const queueLeases = new Informer<CachedLease>({
    name: "queue-leases",
    kubeConfig,
    source: leaseSource(kubeConfig, namespace),
    namespaces: [namespace],
    labelSelector: `${leaseLabels.kind}=${queueLeaseKind}`,
    transform: trimLease,
    resyncMs: config.resync,
    logger,
  });
  // The controllers act only on runs whose claims tekton-lineage signed for their name and namespace.
  const runs = genuineRuns(informedRuns, signingKeys);
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
  const queues = new QueueController({
    runs,
    leases: queueLeases,
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
  });
  const supersede = new SupersedeController({
    runs,
    writer: actions,
    events,
    cancellations: queueMetrics.cancellations,
    logger,
  });
  const counters = new Informer<CachedLease>({
    name: "attempt-counters",
    kubeConfig,
    source: leaseSource(kubeConfig, namespace),
    namespaces: [namespace],
    labelSelector:
      `${leaseLabels.kind}=${attemptLeaseKind}` +
      (config.watchNamespaces.length > 0
        ? `,${leaseLabels.runNamespace} in (${config.watchNamespaces.join(",")})`
        : ""),
    transform: trimLease,
    resyncMs: config.resync,
    logger,
  });
  // PaC's records of creates that failed (Events on Repositories), the proof of an attempt never created.
  const pacEvents = new Informer<CachedEvent>({
    name: "pac-failure-events",
    kubeConfig,
    source: eventSource(kubeConfig),
    namespaces: config.watchNamespaces,
    fieldSelector: `reason=${pacFailureReason}`,
    transform: trimEvent,
    resyncMs: config.resync,
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
  const creationFailures = new CreationFailures(pacEvents);
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
  const certificates = config.manageCertificates
    ? new CertificateManager({
        kubeConfig,
        namespace,
        secretName: config.tlsSecret || "tekton-lineage-tls",
        policy: {
          sans: servingNames(config.serviceName, namespace, config.extraSans),
          servingValidMs: config.certValidity,
          renewBeforeMs: config.certRenewBefore,
          caValidMs: Math.max(config.certValidity * 10, 365 * 86_400_000),
        },
        webhookConfigurations: config.webhookConfigurations,
        logger,
      })
    : undefined;
  const collectCounters = createCounterCollector({
    store,
    runs,
    watchedNamespaces: config.watchNamespaces,
    grace: { graceMs: config.counterGcGrace, singleAttemptGraceMs: config.counterGcGraceSingle },
    logger,
    registry,
  });
  const dropRetiredKeys = async () => {
    if (!informedRuns.synced) return;
    const inUse = signingKeysInUse(runs.list());
    const dropped = await dropUnusedKeys(
      kubeConfig,
      namespace,
      config.signingSecret,
      inUse,
      2 * config.claimMaxAge,
    );
    if (dropped.length > 0)
      logger.info({ keys: dropped }, "dropped retired signing keys no live run was signed with");
  };
  // Every controller's reconciles counted by result and timed, its work queue's depth reported, and its
  // terminal errors said as Events (core/controller.ts).
  const controllerMetrics = new ControllerMetrics(registry);
  for (const shell of [
    queues.controller,
    queues.waiting.controller,
    supersede.controller,
    gitlab.controller,
    pacFailures.controller,
    optInCheck.controller,
    orphans.controller,
  ])
    shell.instrument({ metrics: controllerMetrics, events });
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
      queues.run(signal);
      supersede.run(signal);
      gitlab.run(signal);
      pacFailures.run(signal);
      optInCheck.run(signal);
      orphans.run(signal);
      void every("attempt-counter-gc", config.counterGcInterval, collectCounters, signal, logger);
      // Retired signing keys are dropped only by a reconciler that sees every run.
      if (config.watchNamespaces.length === 0)
        void every("signing-key-gc", config.counterGcInterval, dropRetiredKeys, signal, logger);
      if (certificates) {
        const interval = Math.min(60_000, Math.max(1000, config.certRenewBefore / 4));
        void every("certificates", interval, () => certificates.reconcile(), signal, logger);
      }
    },
    // The queues' gauges speak for the leader only: a former leader's last values would look current.
    onStoppedLeading: () => {
      for (const gauge of [
        queueMetrics.depth,
        queueMetrics.running,
        queueMetrics.oldestWaiting,
        queueMetrics.maxWait,
      ])
        gauge.reset();
    },
  });
  new Gauge({
    name: "tekton_lineage_leader",
    help: "1 while this reconciler leads (runs the queues, the GitLab reporter and the other controllers), else 0.",
    registers: [registry],
    collect() {
      this.set(elector.isLeader ? 1 : 0);
    },
  });
  const informers = [informedRuns, queueLeases, counters, pacEvents];

  return {
    name: "reconciler",
    readiness: {
      "pipelineruns-synced": () => informedRuns.synced,
      "queue-leases-synced": () => queueLeases.synced,
      "repositories-synced": () => repositories.synced,
      "attempt-counters-synced": () => counters.synced,
      "pac-events-synced": () => pacEvents.synced,
    },
    start() {
      for (const informer of informers) informer.start();
      pacConfig.start();
      elector.start();
    },
    async stop() {
      await elector.stop();
      for (const informer of informers) informer.stop();
      pacConfig.stop();
    },
  };
}
