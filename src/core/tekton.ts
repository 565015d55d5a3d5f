import type { CustomResource } from "../kube/custom-objects.ts";
import { Interner } from "../kube/intern.ts";
import { acceptedPacValue, maxOwnValueLength } from "./pac-values.ts";
import { isOwnedLabel, pac, prefix, routingLabelKeys } from "./vocabulary.ts";

/**
 * Tekton's PipelineRun as tekton-lineage reads it: the fields, the trim that keeps only those in the
 * cache, and the facts about its states (tektoncd/pipeline docs/pipelineruns.md), in one place.
 */

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

/**
 * The metadata of a run that decisions at admission are made from: its lineage, its claims, its queue.
 * `name` is absent or "" while only a generateName is known.
 */
export interface RunMeta {
  namespace: string;
  name?: string;
  generateName?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
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

/** The Pipelines-as-Code keys tekton-lineage reads; every other PaC key is dropped from the cache. */
const pacKeys: ReadonlySet<string> = new Set(Object.values(pac).filter((key) => key !== pac.prefix));
const interner = new Interner();

function keep(
  entries: Record<string, string> | undefined,
  wanted: (key: string) => boolean,
): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(entries ?? {})) {
    if (!wanted(key)) continue;
    // Only values PaC or tekton-lineage could have written: a run's author cannot grow the cache.
    const accepted = key.startsWith(prefix)
      ? value.length <= maxOwnValueLength
        ? value
        : undefined
      : acceptedPacValue(key, value);
    if (accepted !== undefined) kept[key] = interner.intern(accepted);
  }
  return kept;
}

function pick<T>(value: T | undefined | null): T | undefined {
  return value ?? undefined;
}

/**
 * Keeps identity, tekton-lineage's labels and annotations, the PaC keys tekton-lineage reads (a PaC label
 * only when the annotation of the same key is missing, as on older PaC), spec.status and the Succeeded
 * condition; drops specs, other annotations (last-applied-configuration, ...) and child references.
 */
export function trimPipelineRun(raw: unknown): PipelineRun {
  const run = raw as PipelineRun;
  const m = run.metadata ?? {};
  const annotations = keep(m.annotations ?? undefined, (key) => key.startsWith(prefix) || pacKeys.has(key));
  const labels = keep(
    m.labels ?? undefined,
    (key) =>
      isOwnedLabel(key) ||
      routingLabelKeys.includes(key) ||
      (pacKeys.has(key) && annotations[key] === undefined),
  );
  const succeeded = run.status?.conditions?.find((c) => c.type === "Succeeded");
  return {
    metadata: {
      name: m.name,
      generateName: pick(m.generateName),
      namespace: m.namespace === undefined ? undefined : interner.intern(m.namespace),
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
      deletionTimestamp: pick(m.deletionTimestamp),
      labels,
      annotations,
    },
    spec: run.spec?.status === undefined ? {} : { status: run.spec.status },
    status: {
      conditions: succeeded
        ? [
            {
              type: succeeded.type,
              status: succeeded.status,
              reason: pick(succeeded.reason),
              message: pick(succeeded.message),
              lastTransitionTime: pick(succeeded.lastTransitionTime),
            },
          ]
        : undefined,
      startTime: pick(run.status?.startTime),
      completionTime: pick(run.status?.completionTime),
    },
  };
}

/** The PipelineRun resource (tekton.dev/v1), and the TaskRuns a run makes. */
export const pipelineRunResource: CustomResource = {
  group: "tekton.dev",
  version: "v1",
  plural: "pipelineruns",
};
export const taskRunResource: CustomResource = { group: "tekton.dev", version: "v1", plural: "taskruns" };

/** spec.status of a run that waits to be started; clearing it starts the run. */
export const pendingStatus = "PipelineRunPending";
/** spec.status that cancels a run (waiting or running). */
export const cancelStatus = "Cancelled";
/** spec.status asking Tekton to cancel (or stop, letting finally tasks run) a run. */
export const cancelStatuses: readonly string[] = ["Cancelled", "CancelledRunFinally", "StoppedRunFinally"];
/** Succeeded-condition reasons of a run that ended because it was cancelled or stopped. */
export const cancelledReasons: readonly string[] = [
  "Cancelled",
  "PipelineRunCancelled",
  "CancelledRunFinally",
  "StoppedRunFinally",
];
/** spec.status is Pending: the run waits to be started. */
export function isPending(run: Pick<PipelineRun, "spec">): boolean {
  return run.spec?.status === pendingStatus;
}

/** spec.status asks Tekton to cancel or stop the run (it may still be winding down). */
export function isCancelRequested(run: Pick<PipelineRun, "spec">): boolean {
  return cancelStatuses.includes(run.spec?.status ?? "");
}

export function succeededCondition(run: PipelineRun): Condition | undefined {
  return run.status?.conditions?.find((c) => c.type === "Succeeded");
}

/** Done means the Succeeded condition is no longer Unknown. */
export function isDone(run: PipelineRun): boolean {
  const condition = succeededCondition(run);
  return condition !== undefined && condition.status !== "Unknown";
}
