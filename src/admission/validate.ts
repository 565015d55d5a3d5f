import { isCancelRequested, isPending, type PipelineRun } from "../core/tekton.ts";
import {
  admissionKeys,
  isOwnedAnnotation,
  isOwnedLabel,
  labelKeys,
  routingLabelKeys,
} from "../core/vocabulary.ts";
import { checkClaims, type KeyRing, learnSigner } from "../lineage/claims.ts";
import type { AdmissionRoute } from "./handler.ts";
import { claimsDenial } from "./mutate.ts";
import { displayName, isPipelineRun, runMetaOf } from "./pipelinerun-request.ts";
import type { AdmissionDecision, AdmissionRequest } from "./types.ts";

export interface ValidateDependencies {
  keys: KeyRing;
  /** Whether a user may change tekton-lineage's keys on existing runs (tekton-lineage itself, and those configured). */
  isTrusted: (user: string) => boolean;
  claimMaxAgeMs: number;
  now: () => Date;
}

/** The tekton-lineage labels and annotations that differ between two versions of an object. */
export function changedOwnedKeys(oldObject: unknown, newObject: unknown): string[] {
  const before = runMetaOf(oldObject, undefined);
  const after = runMetaOf(newObject, undefined);
  const changed = new Set<string>();
  const compare = (
    a: Record<string, string>,
    b: Record<string, string>,
    owned: (k: string) => boolean,
    kind: string,
  ) => {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (owned(key) && a[key] !== b[key]) changed.add(`${kind} ${key}`);
    }
  };
  compare(before.annotations, after.annotations, isOwnedAnnotation, "annotation");
  compare(before.labels, after.labels, (key) => isOwnedLabel(key) || routingLabelKeys.includes(key), "label");
  return [...changed].sort();
}

/**
 * The queue a run waits in, when this update would start it: it was made Pending by the queue, and the
 * new version is neither Pending nor cancelled.
 */
export function startedOutsideQueue(oldObject: unknown, newObject: unknown): string | undefined {
  type Run = Pick<PipelineRun, "spec"> & { metadata?: { annotations?: Record<string, string> } };
  const before = (oldObject ?? {}) as Run;
  const after = (newObject ?? {}) as Run;
  const annotations = before.metadata?.annotations ?? {};
  if (!isPending(before) || annotations[admissionKeys.pendingByQueue] !== "true") return undefined;
  if (isPending(after) || isCancelRequested(after)) return undefined;
  return annotations[admissionKeys.queue] ?? "(unknown)";
}

/** The pure validation decision. */
export function decideValidation(request: AdmissionRequest, deps: ValidateDependencies): AdmissionDecision {
  if (!isPipelineRun(request)) return { allowed: true };
  if (request.operation === "CREATE") {
    const check = checkClaims(
      runMetaOf(request.object, request.namespace),
      deps.keys.all(),
      deps.now(),
      deps.claimMaxAgeMs,
    );
    return check.state === "forged" || check.state === "malformed"
      ? claimsDenial(request, check.state, check.detail)
      : { allowed: true };
  }
  if (request.operation === "UPDATE") {
    const user = request.userInfo.username ?? "(unknown user)";
    if (deps.isTrusted(user)) return { allowed: true };
    const subject = runMetaOf(request.oldObject, request.namespace);
    const unpended = startedOutsideQueue(request.oldObject, request.object);
    if (unpended) {
      return {
        allowed: false,
        code: 403,
        reason: "Forbidden",
        message:
          `starting PipelineRun ${subject.namespace}/${displayName(subject)} by ${user} refused: it waits in queue ` +
          `${unpended} and tekton-lineage starts it when a slot frees. To drop it, set spec.status to Cancelled.`,
      };
    }
    const changed = changedOwnedKeys(request.oldObject, request.object);
    if (changed.length === 0) return { allowed: true };
    const [records, them] = changed.length === 1 ? ["records", "it"] : ["record", "them"];
    return {
      allowed: false,
      code: 403,
      reason: "Forbidden",
      message:
        `change to PipelineRun ${subject.namespace}/${displayName(subject)} by ${user} refused: ${changed.join(", ")} ` +
        `${records} the run's lineage and queue place and only tekton-lineage may change ${them}. To run again, create a new ` +
        `PipelineRun (a retest); to keep tekton-lineage away from a run, label it ${labelKeys.webhook}=disabled when creating it.`,
    };
  }
  return { allowed: true };
}

export function createValidateRoute(deps: ValidateDependencies): AdmissionRoute {
  return {
    path: "/validate",
    decide: async (request: AdmissionRequest) => {
      if (request.operation === "CREATE")
        await learnSigner(deps.keys, runMetaOf(request.object, request.namespace));
      return decideValidation(request, deps);
    },
    // Validation reads no API; a late or failed decision is a bug, and refusing is the safe answer.
    fallback: (_request, why) => ({
      allowed: false,
      code: 500,
      reason: "InternalError",
      message: `tekton-lineage could not validate this request (${why}); retry`,
    }),
  };
}
