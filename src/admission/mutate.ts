import { bucketOf, queueNamespaceOf } from "../core/buckets.ts";
import { pendingStatus, type RunMeta } from "../core/tekton.ts";
import { admissionKeys, labelKeys } from "../core/vocabulary.ts";
import { admittedRunRecordOf } from "../lineage/admitted-run-record.ts";
import type { AdmittedRunRecord, Allocation } from "../lineage/attempt-plan.ts";
import { checkClaims, type KeyRing, learnSigner } from "../lineage/claims.ts";
import { type Lineage, type LineageRule, lineageOf } from "../lineage/lineage.ts";
import { attemptName } from "../lineage/names.ts";
import { rerunOf } from "../lineage/rerun.ts";
import type { QueueAdmission } from "../queue/admit/admit-plan.ts";
import type { QueueAdmitter } from "../queue/admit/queue-admitter.ts";
import type { QueueChoice } from "../queue/choose.ts";
import { type ClaimsToWrite, withAdmissionClaims, withoutClaimsOf } from "./claims-patch.ts";
import type { AdmissionRoute } from "./handler.ts";
import { displayName, isPipelineRun, runMetaOf } from "./pipelinerun-request.ts";
import type { AdmissionDecision, AdmissionRequest } from "./types.ts";

export interface AttemptSource {
  allocate(
    lineage: Lineage,
    nameFor: (attempt: number) => string,
    signal: AbortSignal,
    subject?: AdmittedRunRecord,
  ): Promise<Allocation>;
  preview(lineage: Lineage, nameFor: (attempt: number) => string): Promise<Allocation>;
  /** The attempt's admission fell back after it was counted: never report it as never created. */
  markFallenBack(lineageId: string, attempt: number): Promise<void>;
}

export interface AdmissionQueues {
  choose(subject: RunMeta, pendingAtCreation: boolean): QueueChoice;
  admitter: Pick<QueueAdmitter, "admit" | "preview" | "release">;
}

export interface MutateDependencies {
  attempts: AttemptSource;
  /** Concurrency queues; absent when the role runs without them. */
  queues?: AdmissionQueues;
  keys: KeyRing;
  rule: LineageRule;
  instance: string;
  /** --buckets: the run is labelled with its namespace's bucket. */
  buckets: number;
  claimMaxAgeMs: number;
  onAllocationFailure: "allow" | "deny";
  now: () => Date;
}

/** Forged or malformed claims found while mutating or validating a create. */
export function claimsDenial(
  request: AdmissionRequest,
  state: "forged" | "malformed",
  detail: string,
): AdmissionDecision {
  const subject = runMetaOf(request.object, request.namespace);
  const what = `PipelineRun ${subject.namespace}/${displayName(subject)} refused`;
  return state === "forged"
    ? { allowed: false, code: 403, reason: "Forbidden", message: `${what}: ${detail}` }
    : { allowed: false, code: 422, reason: "Invalid", message: `${what}: ${detail}` };
}

/**
 * /mutate: gives a new PipelineRun its deterministic name, attempt and lineage annotations, signed.
 * A create that already carries valid claims (a re-invocation) is left as it is; forged claims are refused.
 */
export function createMutateRoute(deps: MutateDependencies): AdmissionRoute {
  return {
    path: "/mutate",
    async decide(request, { signal }) {
      if (request.operation !== "CREATE" || !isPipelineRun(request) || !request.object)
        return { allowed: true };
      let subject = runMetaOf(request.object, request.namespace);
      await learnSigner(deps.keys, subject);
      const now = deps.now();
      const check = checkClaims(subject, deps.keys.all(), now, deps.claimMaxAgeMs);
      if (check.state === "valid") return { allowed: true };
      let object = request.object;
      const warnings: string[] = [];
      let specStatus = (object as { spec?: { status?: string } }).spec?.status;
      if (check.state !== "absent") {
        // A console's or the Dashboard's "Rerun" copies a run with its claims: the next attempt of its lineage.
        const rerun = check.state === "forged" ? rerunOf(subject, deps.keys.all(), deps.rule) : undefined;
        if (!rerun) return claimsDenial(request, check.state, check.detail);
        subject = rerun.subject;
        object = withoutClaimsOf(object, rerun.wasQueuePending);
        if (rerun.wasQueuePending) specStatus = undefined;
        warnings.push(
          `a rerun of ${rerun.original}: the tekton-lineage keys it copied were replaced by this attempt's`,
        );
      }

      const lineage = lineageOf(subject, deps.rule);
      const chosen = subject.name;
      const nameFor = chosen ? () => chosen : (n: number) => attemptName(lineage.base, lineage.id, n);
      const dryRun = request.dryRun === true;
      const allocation = dryRun
        ? await deps.attempts.preview(lineage, nameFor)
        : await deps.attempts.allocate(lineage, nameFor, signal, admittedRunRecordOf(subject, now));
      const attempt = String(allocation.attempt);
      const claims: ClaimsToWrite = {
        name: allocation.name,
        annotations: {
          [admissionKeys.lineage]: lineage.key,
          [admissionKeys.lineageId]: lineage.id,
          [admissionKeys.attempt]: attempt,
          ...(allocation.supersedes ? { [admissionKeys.supersedes]: allocation.supersedes } : {}),
          [admissionKeys.admittedAt]: now.toISOString(),
          [admissionKeys.admittedBy]: deps.instance,
        },
        labels: {
          [labelKeys.lineageId]: lineage.id,
          [labelKeys.attempt]: attempt,
          [labelKeys.bucket]: bucketOf(subject.namespace, deps.buckets),
        },
      };
      if (dryRun) warnings.push(`dry run: attempt ${attempt} of this lineage is shown, not reserved`);
      if (deps.queues) {
        const choice = deps.queues.choose(subject, specStatus === pendingStatus);
        if (!choice.queued && choice.conflict) warnings.push(`tekton-lineage: ${choice.conflict}`);
        if (choice.queued) {
          const run = `${subject.namespace}/${allocation.name}`;
          const admission = dryRun
            ? await deps.queues.admitter.preview(choice, run)
            : await deps.queues.admitter.admit(choice, run, signal);
          if (admission.outcome === "full") {
            return {
              allowed: false,
              code: 429,
              reason: "TooManyRequests",
              // Names the run: PaC records these words, and the status of the attempt can say them at once.
              message: `queue ${choice.key} is full (${admission.waiting} PipelineRuns waiting): ${allocation.name} was not created; retest once the queue drains`,
            };
          }
          const queue = queueClaims(choice, admission, now);
          Object.assign(claims.annotations, queue.annotations);
          Object.assign(claims.labels, queue.labels);
          claims.specStatus = queue.specStatus;
          warnings.push(queueWarning(choice.key, admission));
        }
      }
      const mutated = withAdmissionClaims(object, request.namespace, claims, deps.keys.current());
      return { allowed: true, mutated, warnings };
    },
    async abandoned(request, late) {
      // The run was created unchanged (the fallback), so the attempt and the queue place written for it
      // belong to no run: mark the attempt, give the place back.
      if (!late.allowed || !late.mutated || request.dryRun) return;
      const meta = runMetaOf(late.mutated, request.namespace);
      const lineageId = meta.labels[labelKeys.lineageId];
      const attempt = Number(meta.annotations[admissionKeys.attempt]);
      if (lineageId && Number.isSafeInteger(attempt)) await deps.attempts.markFallenBack(lineageId, attempt);
      const queueId = meta.labels[labelKeys.queueId];
      if (queueId && deps.queues)
        await deps.queues.admitter.release(queueId, `${meta.namespace}/${meta.name}`);
    },
    fallback(request, why) {
      if (deps.onAllocationFailure === "deny") {
        return {
          allowed: false,
          code: 503,
          reason: "ServiceUnavailable",
          message: `tekton-lineage could not assign this PipelineRun an attempt number (${why}); nothing was created, retry the create in a few seconds`,
        };
      }
      const subject = runMetaOf(request.object, request.namespace);
      return {
        allowed: true,
        fallback: why,
        warnings: [`tekton-lineage: ${displayName(subject)} admitted without lineage (${why})`],
      };
    },
  };
}

type Queued = Extract<QueueChoice, { queued: true }>;

/** The queue's part of the claims: key, ticket, and either the slot taken or the Pending marker. */
function queueClaims(choice: Queued, admission: Exclude<QueueAdmission, { outcome: "full" }>, now: Date) {
  const annotations: Record<string, string> = {
    [admissionKeys.queue]: choice.key,
    [admissionKeys.queueTicket]: String(admission.ticket),
    [admissionKeys.enqueuedAt]: now.toISOString(),
  };
  const labels: Record<string, string> = { [labelKeys.queueId]: choice.id };
  // A rule's queue may span namespaces, hence buckets: the leader keeps it (core/buckets.ts).
  if (queueNamespaceOf(choice.key) === undefined) labels[labelKeys.queueScope] = "cluster";
  if (admission.outcome === "start") {
    annotations[admissionKeys.queueSlot] = String(admission.fence);
    return { annotations, labels, specStatus: undefined };
  }
  annotations[admissionKeys.pendingByQueue] = "true";
  return { annotations, labels, specStatus: pendingStatus };
}

function queueWarning(key: string, admission: Exclude<QueueAdmission, { outcome: "full" }>): string {
  return admission.outcome === "start"
    ? `queue ${key}: started at once (${admission.running}/${admission.limit} running)`
    : `queue ${key}: waiting, ${admission.position} in line (${admission.running}/${admission.limit} running)`;
}
