import { isCancelRequested, isDone, isPending, type PipelineRun } from "../core/tekton.ts";
import { admissionKeys } from "../core/vocabulary.ts";

/** What the queue needs to know about one PipelineRun. */
export interface QueuedRun {
  /** namespace/name */
  run: string;
  uid?: string;
  /** spec.status is PipelineRunPending. */
  pending: boolean;
  /** tekton-lineage made it Pending (only such runs are started by the queue). */
  pendingByQueue: boolean;
  /** spec.status asks Tekton to cancel or stop it. */
  cancelled: boolean;
  done: boolean;
  deleting: boolean;
  ticket?: number;
  /** The fencing token it was started with, when it was started by the queue. */
  fence?: number;
  enqueuedAt?: string;
}

export const runKey = (namespace: string | undefined, name: string | undefined) =>
  `${namespace ?? ""}/${name ?? ""}`;

export function queuedRunOf(run: PipelineRun): QueuedRun {
  const a = run.metadata.annotations ?? {};
  const ticket = Number(a[admissionKeys.queueTicket]);
  const fence = Number(a[admissionKeys.queueSlot]);
  return {
    run: runKey(run.metadata.namespace, run.metadata.name),
    uid: run.metadata.uid,
    pending: isPending(run),
    pendingByQueue: a[admissionKeys.pendingByQueue] === "true",
    cancelled: isCancelRequested(run),
    done: isDone(run),
    deleting: run.metadata.deletionTimestamp !== undefined,
    ticket: Number.isSafeInteger(ticket) && ticket > 0 ? ticket : undefined,
    fence: Number.isSafeInteger(fence) && fence > 0 ? fence : undefined,
    enqueuedAt: a[admissionKeys.enqueuedAt],
  };
}
