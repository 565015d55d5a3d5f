import type { V1Lease } from "@kubernetes/client-node";
import { microTime } from "../kube/leases.ts";
import { leaseLabels } from "./vocabulary.ts";

/**
 * A Lease of tekton-lineage's own (attempt counter, queue) as it should be written: everything of
 * `current` kept, these labels and annotations set, and the writer and time recorded in the spec.
 */
export function ownedLease(
  current: V1Lease | undefined,
  kind: string,
  fields: { labels: Record<string, string>; annotations: Record<string, string> },
  instance: string,
  now: Date,
): V1Lease {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      ...current?.metadata,
      labels: {
        ...current?.metadata?.labels,
        [leaseLabels.managedBy]: leaseLabels.managedByValue,
        [leaseLabels.kind]: kind,
        ...fields.labels,
      },
      annotations: { ...current?.metadata?.annotations, ...fields.annotations },
    },
    spec: { ...current?.spec, holderIdentity: instance, renewTime: microTime(now) },
  };
}
