import type { V1Lease } from "@kubernetes/client-node";
import { admissionKeys, leaseKeys, leaseLabels } from "../core/vocabulary.ts";
import { attemptLeaseKind } from "./attempts.ts";

export interface CollectableLease {
  name: string;
  resourceVersion: string;
}

/**
 * Attempt counters that may go: their lineage has no PipelineRun left in a watched namespace, and
 * nothing was allocated for `graceMs` (an admitted run may still be on its way into the cluster, or
 * not yet seen by the informer). Counters of namespaces this reconciler does not watch are never
 * touched. Deleting one restarts that lineage at attempt 1, which cannot collide: no run of it is left.
 */
export function countersToCollect(
  leases: readonly V1Lease[],
  liveLineageIds: ReadonlySet<string>,
  watchedNamespaces: readonly string[],
  now: Date,
  graceMs: number,
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
    if (!Number.isFinite(lastWrite) || now.getTime() - lastWrite < graceMs) return [];
    return [{ name: meta.name, resourceVersion: meta.resourceVersion }];
  });
}
