import { bucketValues } from "../core/buckets.ts";
import { type PipelineRun, pipelineRunResource, trimPipelineRun } from "../core/tekton.ts";
import { labelKeys, leaseLabels } from "../core/vocabulary.ts";
import { customResourceSource } from "../kube/custom-objects.ts";
import { type CachedEvent, eventSource } from "../kube/event-source.ts";
import { Informer } from "../kube/informer.ts";
import { type CachedLease, leaseSource, trimLease } from "../kube/leases.ts";
import { attemptLeaseKind } from "../lineage/attempts.ts";
import { pacFailureReason, trimEvent } from "../pac/creation-failures.ts";
import { queueLeaseKind } from "../queue/state.ts";
import type { ServiceContext } from "./service.ts";

/** The reconciler's informers: the bucketed ones, and (sharded) the leader's and the labeller's. */
export interface ReconcilerCaches {
  /** The PipelineRuns tekton-lineage admitted; sharded, only those of the buckets held (partitioned). */
  runs: Informer<PipelineRun>;
  queueLeases: Informer<CachedLease>;
  /** Attempt counters; sharded, only those of the buckets held (partitioned). */
  counters: Informer<CachedLease>;
  /** PaC's records of creates that failed (Events on Repositories). */
  pacEvents: Informer<CachedEvent>;
  /** Sharded: runs of --queue-rules queues (which may span buckets), kept by the leader. */
  clusterQueueRuns?: Informer<PipelineRun>;
  /** Sharded: runs and counters without a bucket label of this count, for the leader's labeller. */
  unlabelledRuns?: Informer<PipelineRun>;
  unlabelledCounters?: Informer<CachedLease>;
  all: Informer<never>[];
}

export function createReconcilerCaches(context: ServiceContext): ReconcilerCaches {
  const { config, kubeConfig, logger, namespace } = context;
  const sharded = config.buckets > 1;
  const runSource = customResourceSource(kubeConfig, pipelineRunResource);
  const runInformer = (name: string, labelSelector: string, partitioned = false) =>
    new Informer<PipelineRun>({
      name,
      kubeConfig,
      source: runSource,
      namespaces: config.watchNamespaces,
      labelSelector,
      partitionLabel: partitioned ? labelKeys.bucket : undefined,
      listConcurrency: partitioned ? 2 : undefined,
      transform: trimPipelineRun,
      // Small pages: each page is parsed whole before it is trimmed, so the page size bounds the peak.
      pageSize: 100,
      resyncMs: config.resync,
      logger,
    });
  const leaseInformer = (name: string, labelSelector: string, partitioned = false) =>
    new Informer<CachedLease>({
      name,
      kubeConfig,
      source: leaseSource(kubeConfig, namespace),
      namespaces: [namespace],
      labelSelector,
      partitionLabel: partitioned ? leaseLabels.bucket : undefined,
      transform: trimLease,
      resyncMs: config.resync,
      logger,
    });
  const scoped =
    config.watchNamespaces.length > 0
      ? `,${leaseLabels.runNamespace} in (${config.watchNamespaces.join(",")})`
      : "";
  const counterSelector = `${leaseLabels.kind}=${attemptLeaseKind}${scoped}`;
  // Selected by label, never a list of every PipelineRun.
  const runs = runInformer("pipelineruns", labelKeys.lineageId, sharded);
  const queueLeases = leaseInformer("queue-leases", `${leaseLabels.kind}=${queueLeaseKind}`);
  const counters = leaseInformer("attempt-counters", counterSelector, sharded);
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
  const caches: ReconcilerCaches = { runs, queueLeases, counters, pacEvents, all: [] };
  if (sharded) {
    const otherwise = `notin (${bucketValues(config.buckets).join(",")})`;
    caches.clusterQueueRuns = runInformer(
      "cluster-queue-runs",
      `${labelKeys.lineageId},${labelKeys.queueScope}=cluster`,
    );
    caches.unlabelledRuns = runInformer(
      "unlabelled-runs",
      `${labelKeys.lineageId},${labelKeys.bucket} ${otherwise}`,
    );
    caches.unlabelledCounters = leaseInformer(
      "unlabelled-counters",
      `${counterSelector},${leaseLabels.bucket} ${otherwise}`,
    );
  }
  caches.all = [
    runs,
    queueLeases,
    counters,
    pacEvents,
    caches.clusterQueueRuns,
    caches.unlabelledRuns,
    caches.unlabelledCounters,
  ].filter((informer) => informer !== undefined) as unknown as Informer<never>[];
  return caches;
}
