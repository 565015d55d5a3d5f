import type { PipelineRun } from "../core/tekton.ts";
import { admissionKeys } from "../core/vocabulary.ts";
import type { CounterRecord } from "../lineage/attempt-plan.ts";
import { attemptOf } from "../lineage/supersede.ts";

export interface LatestAttempt {
  attempt: number;
  name: string;
  /** The run, or undefined when the attempt was admitted (the counter says so) but no run exists. */
  run?: PipelineRun;
  /** The run that says where to report: the latest, the newest that exists, or what the counter kept. */
  reportFrom: PipelineRun;
}

/**
 * The latest attempt of a lineage: the highest attempt number the counter handed out, or among the runs.
 * When the counter is ahead of every run, that attempt was admitted but (not yet) created.
 */
export function latestAttempt(
  runs: readonly PipelineRun[],
  record: CounterRecord | undefined,
): LatestAttempt | undefined {
  const newest = runs.reduce<PipelineRun | undefined>(
    (best, r) => (!best || attemptOf(r) > attemptOf(best) ? r : best),
    undefined,
  );
  if (!newest) {
    // No run at all: the first attempt was admitted and never created; report it from what was admitted.
    if (!record?.lastSubject || !record.lastName || record.last < 1) return undefined;
    const reportFrom: PipelineRun = {
      metadata: {
        name: record.lastName,
        namespace: record.lastSubject.namespace,
        annotations: { ...record.lastSubject.annotations, [admissionKeys.lineage]: record.lineageKey ?? "" },
      },
    };
    return { attempt: record.last, name: record.lastName, run: undefined, reportFrom };
  }
  const lineageKey = newest.metadata.annotations?.[admissionKeys.lineage];
  const counterAhead =
    record !== undefined &&
    record.last > attemptOf(newest) &&
    record.lineageKey === lineageKey &&
    record.lastName !== undefined;
  if (counterAhead)
    return { attempt: record.last, name: record.lastName ?? "", run: undefined, reportFrom: newest };
  return { attempt: attemptOf(newest), name: newest.metadata.name ?? "", run: newest, reportFrom: newest };
}
