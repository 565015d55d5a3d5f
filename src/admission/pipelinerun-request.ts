import type { RunMeta } from "../core/tekton.ts";
import type { AdmissionRequest } from "./types.ts";

export function isPipelineRun(request: AdmissionRequest): boolean {
  return request.kind.group === "tekton.dev" && request.kind.kind === "PipelineRun";
}

interface RawMetadata {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
}

/** The fields of a PipelineRun in a review that lineage and claims are made from. */
export function runMetaOf(object: unknown, requestNamespace: string | undefined): RunMeta {
  const metadata = ((object as { metadata?: RawMetadata } | undefined)?.metadata ?? {}) as RawMetadata;
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
