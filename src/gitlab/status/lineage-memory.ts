import { isDone, type PipelineRun } from "../../core/tekton.ts";
import { jitter } from "../../kube/backoff.ts";
import type { TroubleMemory } from "../report-trouble.ts";
import type { KnownStatus } from "./converge.ts";

/**
 * When GitLab is read again after a run of the lineage finished or was cancelled (ms after it was seen
 * done): PaC's watcher posts a final status for every run that ends (reconciler.reportFinalStatus →
 * postFinalStatus, retried after 1, 3 and 5 s), on the same status name and, with the same token, onto
 * whichever job of that name is open — the latest attempt's. Read promptly, such a write is undone before
 * anyone looks.
 */
export const readsAfterRunEnded: readonly number[] = [1000, 3000, 7000, 15_000, 30_000];

/** What the reporter remembers of one lineage between reconciles. */
export interface LineageMemory extends TroubleMemory {
  known?: KnownStatus;
  /** The project that took the last status (source or target of the merge request). */
  project?: string;
  /** Since when (own clock) a newer attempt has had no run. */
  newerSince?: { attempt: number; since: number };
  /** Resyncs left after the latest attempt finished (another writer may still move its status). */
  checksAfterDone: number;
  /** The runs seen done, to notice one that just ended. */
  doneRuns?: Set<string>;
  /** Reading GitLab again after a run ended: since when (own clock) and how many reads are done. */
  afterRunEnded?: { since: number; reads: number };
  /** The creation failure (when PaC recorded it) whose status PaC may still be posting. */
  failureSeen?: number;
}

export function newMemory(): LineageMemory {
  return { checksAfterDone: 0 };
}

/**
 * Notices runs of the lineage that ended since the last reconcile and, when one did, starts the reads of
 * readsAfterRunEnded; when one is due, what is known of GitLab no longer counts as fresh.
 */
export function noticeEndedRuns(memory: LineageMemory, runs: readonly PipelineRun[], now: number): void {
  if (dueAfterRunEnded(memory, runs, now) && memory.known)
    memory.known = { ...memory.known, at: Number.NEGATIVE_INFINITY };
}

/**
 * PaC posts its failure status for a create that failed right after recording its Event — which may reach
 * tekton-lineage first, so tekton-lineage's own report of the failure can be written before PaC's, which
 * then replaces it. A newly seen failure starts the same reads as a run that ended.
 */
export function noticeCreationFailure(
  memory: LineageMemory,
  failedAt: number | undefined,
  now: number,
): void {
  if (failedAt === undefined || memory.failureSeen === failedAt) return;
  memory.failureSeen = failedAt;
  memory.afterRunEnded = { since: now, reads: 0 };
}

function dueAfterRunEnded(memory: LineageMemory, runs: readonly PipelineRun[], now: number): boolean {
  const done = new Set(runs.filter(isDone).map((r) => r.metadata.name ?? ""));
  const ended = memory.doneRuns !== undefined && [...done].some((name) => !memory.doneRuns?.has(name));
  memory.doneRuns = done;
  if (ended) memory.afterRunEnded = { since: now, reads: 0 };
  const watch = memory.afterRunEnded;
  if (!watch) return false;
  const due = readsAfterRunEnded[watch.reads];
  if (due === undefined) {
    memory.afterRunEnded = undefined;
    return false;
  }
  if (now - watch.since < due) return false;
  watch.reads += 1;
  return true;
}

/** When the next read after a run ended is due (ms from now), if one is. */
export function nextReadAfterRunEnded(memory: LineageMemory, now: number): number | undefined {
  const watch = memory.afterRunEnded;
  const due = watch ? readsAfterRunEnded[watch.reads] : undefined;
  return watch && due !== undefined ? Math.max(0, watch.since + due - now) + 10 : undefined;
}

/** While the latest attempt runs, GitLab is read again every resync; after it is done, twice more. */
export function nextResync(
  memory: LineageMemory,
  run: PipelineRun | undefined,
  resyncMs: number,
  random: () => number,
): number | undefined {
  const done = !run || isDone(run);
  if (!done) memory.checksAfterDone = 0;
  else if (memory.checksAfterDone >= 2) return undefined;
  else memory.checksAfterDone += 1;
  return jitter(resyncMs, 0.1, random);
}
