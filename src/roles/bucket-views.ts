import type { V1Lease } from "@kubernetes/client-node";
import { bucketOf, queueNamespaceOf } from "../core/buckets.ts";
import type { PipelineRun } from "../core/tekton.ts";
import { admissionKeys, labelKeys, leaseLabels } from "../core/vocabulary.ts";
import type { CachedEvent } from "../kube/event-source.ts";
import { filterCache } from "../kube/filtered-cache.ts";
import type { ObjectCache } from "../kube/informer.ts";
import type { CachedLease } from "../kube/leases.ts";
import { readableQueueState } from "../queue/state.ts";

/** What a sharded replica reconciles now: the namespaces of the buckets of its running term. */
export interface Ownership {
  count: number;
  owns(namespace: string | undefined): boolean;
}

/** The queue a run was admitted to is a rule's, which may span namespaces (signed: not the label). */
export function inClusterQueue(run: PipelineRun): boolean {
  const key = run.metadata.annotations?.[admissionKeys.queue];
  return key !== undefined && queueNamespaceOf(key) === undefined;
}

/**
 * What the bucketed controllers of a sharded replica read: runs labelled with the right bucket of a
 * namespace it owns (a run with a wrong label waits for the labeller), the counters and PaC's failure
 * Events of those namespaces, and the queues bound to them. (A run labelled with another bucket is not
 * shown: only a run admitted without claims, which no controller acts on, or one a trusted user
 * relabelled, can carry one; the leader labels runs whose label is of no bucket of this count.) The leader's view of the rule queues is the
 * complement: `clusterQueues`. (A run the labeller moves between two buckets held here may reach the
 * informer as deleted, then added: it had the wrong label, so this view never showed it.)
 */
export function bucketViews(
  caches: {
    runs: ObjectCache<PipelineRun>;
    counters: ObjectCache<CachedLease>;
    pacEvents: ObjectCache<CachedEvent>;
    queueLeases: ObjectCache<CachedLease>;
  },
  ownership: Ownership,
) {
  const { count, owns } = ownership;
  const runs = filterCache(caches.runs, (run) => {
    const namespace = run.metadata.namespace ?? "";
    return run.metadata.labels?.[labelKeys.bucket] === bucketOf(namespace, count) && owns(namespace);
  });
  return {
    runs,
    queueRuns: filterCache(runs, (run) => !inClusterQueue(run)),
    counters: filterCache(caches.counters, (lease) => ownsCounter(lease, count, ownership)),
    pacEvents: filterCache(caches.pacEvents, (event) => owns(event.metadata.namespace)),
    queueLeases: filterCache(caches.queueLeases, (lease) => {
      const namespace = queueNamespaceOfLease(lease);
      return namespace !== undefined && namespace !== null && owns(namespace);
    }),
  };
}

/** The leader's rule queues: their runs and Leases. */
export function clusterQueues(caches: {
  runs: ObjectCache<PipelineRun>;
  queueLeases: ObjectCache<CachedLease>;
}) {
  return {
    runs: filterCache(caches.runs, inClusterQueue),
    queueLeases: filterCache(caches.queueLeases, (lease) => queueNamespaceOfLease(lease) === undefined),
  };
}

const namespaces = new WeakMap<CachedLease, string | undefined | null>();

/**
 * The namespace a queue Lease's queue is bound to (undefined: a rule's queue; null: unreadable, nobody's
 * until the queue is rebuilt from its runs). Parsed once per version of the Lease.
 */
function queueNamespaceOfLease(lease: CachedLease): string | undefined | null {
  if (namespaces.has(lease)) return namespaces.get(lease);
  const state = readableQueueState(lease);
  const namespace = state ? queueNamespaceOf(state.key) : null;
  namespaces.set(lease, namespace);
  return namespace;
}

/**
 * An attempt counter of a namespace this replica reconciles, labelled with its bucket: one without the
 * label (admitted before buckets) waits for the labeller, as its runs do, so that it is never collected
 * while its runs are out of sight.
 */
function ownsCounter(lease: V1Lease, count: number, ownership: Pick<Ownership, "owns">): boolean {
  const namespace = lease.metadata?.labels?.[leaseLabels.runNamespace] ?? "";
  return (
    lease.metadata?.labels?.[leaseLabels.bucket] === bucketOf(namespace, count) && ownership.owns(namespace)
  );
}
