import { isOwnedAnnotation, isOwnedLabel, routingLabelKeys, signatureKey } from "../core/vocabulary.ts";
import { type SigningKey, signClaims } from "../lineage/claims.ts";
import { runMetaOf } from "./pipelinerun-request.ts";

export interface ClaimsToWrite {
  name: string;
  annotations: Record<string, string>;
  labels: Record<string, string>;
  /** spec.status to set; null removes it; undefined leaves it as it is. */
  specStatus?: string | null;
}

/**
 * A copy of the object with its name, tekton-lineage annotations and labels (and spec.status when the
 * queue decides it) set, and the signature over the claims. The envelope turns the difference into the
 * JSON Patch.
 */
export function withAdmissionClaims(
  object: unknown,
  namespace: string | undefined,
  claims: ClaimsToWrite,
  key: SigningKey,
): Record<string, unknown> {
  const copy = structuredClone(object) as {
    metadata?: Record<string, unknown>;
    spec?: Record<string, unknown>;
  };
  const metadata: Record<string, unknown> = copy.metadata ?? {};
  copy.metadata = metadata;
  metadata.name = claims.name;
  // The routing labels are tekton-lineage's to choose: one the claims do not set is not left as given.
  const given = Object.entries((metadata.labels as Record<string, string> | null) ?? {});
  metadata.labels = {
    ...Object.fromEntries(given.filter(([key]) => !routingLabelKeys.includes(key))),
    ...claims.labels,
  };
  const annotations = {
    ...((metadata.annotations as Record<string, string> | null) ?? {}),
    ...claims.annotations,
  };
  delete annotations[signatureKey];
  metadata.annotations = annotations;
  if (claims.specStatus !== undefined) {
    const spec: Record<string, unknown> = copy.spec ?? {};
    copy.spec = spec;
    if (claims.specStatus === null) delete spec.status;
    else spec.status = claims.specStatus;
  }
  annotations[signatureKey] = signClaims(key, runMetaOf(copy, namespace));
  return copy as Record<string, unknown>;
}

/**
 * A copy of the object without any key tekton-lineage owns (a rerun's copied claims), and without its
 * spec.status when that was tekton-lineage's queue keeping the original Pending.
 */
export function withoutClaimsOf(object: unknown, dropQueuePending: boolean): Record<string, unknown> {
  const copy = structuredClone(object) as {
    metadata?: Record<string, unknown>;
    spec?: Record<string, unknown>;
  };
  const metadata: Record<string, unknown> = copy.metadata ?? {};
  copy.metadata = metadata;
  const keep = (values: unknown, owned: (key: string) => boolean) =>
    Object.fromEntries(
      Object.entries((values as Record<string, string> | null) ?? {}).filter(([k]) => !owned(k)),
    );
  metadata.annotations = keep(metadata.annotations, isOwnedAnnotation);
  metadata.labels = keep(metadata.labels, isOwnedLabel);
  if (dropQueuePending && copy.spec) delete copy.spec.status;
  return copy as Record<string, unknown>;
}
