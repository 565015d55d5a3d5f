import { inPacQueue } from "../core/pac-report.ts";
import { isCancelRequested, isDone, type PipelineRun } from "../core/tekton.ts";
import { admissionKeys, pac, userKeys } from "../core/vocabulary.ts";

/** Opt-in on the newer run: PaC's annotation, or tekton-lineage's own for runs PaC did not make. */
export const cancelInProgressKeys = [pac.cancelInProgress, userKeys.cancelInProgress];

export function attemptOf(run: PipelineRun): number {
  const n = Number(run.metadata.annotations?.[admissionKeys.attempt]);
  return Number.isSafeInteger(n) ? n : 0;
}

/**
 * cancel-in-progress with a concurrency limit: when the newest attempt of a lineage asks for it, every
 * older attempt of that lineage that has not finished (waiting in a queue or running) is cancelled —
 * except a run PaC's own queue counts (`keep`): PaC frees its slot only when its watcher reports the run,
 * and PaC refuses cancel-in-progress on such a repository itself.
 */
export function supersededRuns(lineageRuns: readonly PipelineRun[]): {
  cancel: PipelineRun[];
  keep: PipelineRun[];
  by?: PipelineRun;
} {
  const live = lineageRuns.filter((r) => r.metadata.deletionTimestamp === undefined);
  const newest = live.reduce<PipelineRun | undefined>(
    (best, r) => (!best || attemptOf(r) > attemptOf(best) ? r : best),
    undefined,
  );
  if (!newest) return { cancel: [], keep: [] };
  const asked = cancelInProgressKeys.some((key) => newest.metadata.annotations?.[key] === "true");
  if (!asked) return { cancel: [], keep: [] };
  const older = live.filter((r) => attemptOf(r) < attemptOf(newest) && !isDone(r) && !isCancelRequested(r));
  return {
    cancel: older.filter((r) => !inPacQueue(r)),
    keep: older.filter((r) => inPacQueue(r)),
    by: newest,
  };
}
