import type { ClaimSubject } from "../lineage/claims.ts";
import type { LineageSubject } from "../lineage/lineage.ts";
import type { AdmissionRequest } from "./types.ts";

export function isPipelineRun(request: AdmissionRequest): boolean {
  return request.kind.group === "tekton.dev" && request.kind.kind === "PipelineRun";
}

interface MetadataView {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
}

/** The fields of a PipelineRun in a review that lineage and claims are made from. */
export function subjectOf(
  object: unknown,
  requestNamespace: string | undefined,
): LineageSubject & ClaimSubject {
  const metadata = ((object as { metadata?: MetadataView } | undefined)?.metadata ?? {}) as MetadataView;
  return {
    namespace: metadata.namespace || requestNamespace || "",
    name: metadata.name ?? "",
    generateName: metadata.generateName,
    labels: { ...(metadata.labels ?? {}) },
    annotations: { ...(metadata.annotations ?? {}) },
  };
}

/** How a run is named in messages: its name, or its generateName with a star. */
export function displayName(subject: { name?: string; generateName?: string }): string {
  return subject.name || (subject.generateName ? `${subject.generateName}*` : "(unnamed)");
}
