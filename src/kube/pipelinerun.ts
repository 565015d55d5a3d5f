/** The PipelineRun fields tekton-lineage reads, and the trim that keeps only those in the cache. */

export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface ChildReference {
  name: string;
  pipelineTaskName?: string;
  kind?: string;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface PipelineRun {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: { status?: string; [field: string]: unknown };
  status?: {
    conditions?: Condition[];
    startTime?: string;
    completionTime?: string;
    childReferences?: ChildReference[];
  };
}

/** Annotation prefixes worth caching; everything else (last-applied-configuration, ...) is dropped. */
const keptAnnotationPrefixes = ["tekton-lineage.io/", "pipelinesascode.tekton.dev/"];

function pick<T>(value: T | undefined | null): T | undefined {
  return value ?? undefined;
}

/** Keeps identity, labels, relevant annotations, spec.status and the status summary; drops specs and logs. */
export function trimPipelineRun(raw: unknown): PipelineRun {
  const run = raw as PipelineRun;
  const m = run.metadata ?? {};
  const annotations = Object.fromEntries(
    Object.entries(m.annotations ?? {}).filter(([key]) =>
      keptAnnotationPrefixes.some((p) => key.startsWith(p)),
    ),
  );
  return {
    metadata: {
      name: m.name,
      generateName: pick(m.generateName),
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
      deletionTimestamp: pick(m.deletionTimestamp),
      labels: m.labels ?? {},
      annotations,
    },
    spec: run.spec?.status === undefined ? {} : { status: run.spec.status },
    status: {
      conditions: run.status?.conditions?.map((c) => ({
        type: c.type,
        status: c.status,
        reason: pick(c.reason),
        message: pick(c.message),
        lastTransitionTime: pick(c.lastTransitionTime),
      })),
      startTime: pick(run.status?.startTime),
      completionTime: pick(run.status?.completionTime),
      childReferences: run.status?.childReferences?.map((c) => ({
        name: c.name,
        pipelineTaskName: pick(c.pipelineTaskName),
        kind: pick(c.kind),
      })),
    },
  };
}

export function succeededCondition(run: PipelineRun): Condition | undefined {
  return run.status?.conditions?.find((c) => c.type === "Succeeded");
}

/** Done means the Succeeded condition is no longer Unknown. */
export function isDone(run: PipelineRun): boolean {
  const condition = succeededCondition(run);
  return condition !== undefined && condition.status !== "Unknown";
}
