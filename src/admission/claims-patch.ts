import { type SigningKey, signClaims } from "../lineage/claims.ts";
import { signatureKey } from "../lineage/vocabulary.ts";
import { subjectOf } from "./pipelinerun-request.ts";

export interface ClaimsToWrite {
  name: string;
  annotations: Record<string, string>;
  labels: Record<string, string>;
}

/**
 * A copy of the object with its name, tekton-lineage annotations and labels set, and the signature over
 * them. The envelope turns the difference into the JSON Patch.
 */
export function withAdmissionClaims(
  object: unknown,
  namespace: string | undefined,
  claims: ClaimsToWrite,
  key: SigningKey,
): Record<string, unknown> {
  const copy = structuredClone(object) as { metadata?: Record<string, unknown> };
  const metadata: Record<string, unknown> = copy.metadata ?? {};
  copy.metadata = metadata;
  metadata.name = claims.name;
  metadata.labels = { ...((metadata.labels as Record<string, string> | null) ?? {}), ...claims.labels };
  const annotations = {
    ...((metadata.annotations as Record<string, string> | null) ?? {}),
    ...claims.annotations,
  };
  delete annotations[signatureKey];
  metadata.annotations = annotations;
  annotations[signatureKey] = signClaims(key, subjectOf(copy, namespace));
  return copy as Record<string, unknown>;
}
