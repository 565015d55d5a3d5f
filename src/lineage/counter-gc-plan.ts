import type { V1Lease } from "@kubernetes/client-node";
import { admissionKeys, leaseKeys, leaseLabels } from "../core/vocabulary.ts";
import { attemptLeaseKind } from "./attempts.ts";

export interface CollectableLease {
  name: string;
  resourceVersion: string;
}

export interface CollectGrace {
  /** Kept at least this long after the last allocation. */
  graceMs: number;
  /**
   * A counter that handed out one attempt only goes sooner: most often its run was never created (a
   * create that failed, or a review that did not come from the API server), and many such counters are
   * what a flood leaves behind.
   */
  singleAttemptGraceMs: number;
}

/**
 * Attempt counters that may go: their lineage has no PipelineRun left in a watched namespace, and
 * nothing was allocated for the grace (an admitted run may still be on its way into the cluster, or
 * not yet seen by the informer). Counters of namespaces this reconciler does not watch are never
 * touched. Deleting one restarts that lineage at attempt 1, which cannot collide: no run of it is left.
 */
export function countersToCollect(
  leases: readonly V1Lease[],
  liveLineageIds: ReadonlySet<string>,
  watchedNamespaces: readonly string[],
  now: Date,
  grace: CollectGrace,
): CollectableLease[] {
  return leases.flatMap((lease) => {
    const meta = lease.metadata ?? {};
    if (meta.labels?.[leaseLabels.kind] !== attemptLeaseKind) return [];
    const lineageId = meta.labels?.[admissionKeys.lineageId];
    const namespace = meta.annotations?.[leaseKeys.namespace] ?? "";
    if (!lineageId || !meta.name || !meta.resourceVersion) return [];
    if (watchedNamespaces.length > 0 && !watchedNamespaces.includes(namespace)) return [];
    if (liveLineageIds.has(lineageId)) return [];
    const lastWrite = Date.parse(String(lease.spec?.renewTime ?? meta.creationTimestamp ?? ""));
    const single = meta.annotations?.[leaseKeys.lastAttempt] === "1";
    const graceMs = single ? Math.min(grace.singleAttemptGraceMs, grace.graceMs) : grace.graceMs;
    if (!Number.isFinite(lastWrite) || now.getTime() - lastWrite < graceMs) return [];
    return [{ name: meta.name, resourceVersion: meta.resourceVersion }];
  });
}
