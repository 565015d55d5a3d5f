import type { PipelineRun } from "../core/tekton.ts";
import { admissionKeys } from "../core/vocabulary.ts";
import type { CounterRecord } from "../lineage/attempt-plan.ts";
import { attemptOf } from "../lineage/supersede.ts";

export interface LatestAttempt {
  attempt: number;
  name: string;
  /** The run, or undefined when the attempt was admitted but could not be created. */
  run?: PipelineRun;
  /** The run that says where to report: the latest, the newest that exists, or what the counter kept. */
  reportFrom: PipelineRun;
  /** Why the attempt could not be created: the API server's words, as PaC recorded them. */
  creationError?: string;
}

/** A newer attempt the counter handed out that no run carries (yet). */
export interface NewerAttempt {
  attempt: number;
  name: string;
  reportFrom: PipelineRun;
  /** PaC's record of a failed create of this pipeline right after this admission, if any. */
  failure?: { error: string };
}

/** What is known of a lineage: its newest run, and a newer admitted attempt without a run. */
export interface LineageAttempts {
  newest?: LatestAttempt;
  newer?: NewerAttempt;
}

/** PaC's record that the counter's last attempt could not be created, if there is one. */
export type Corroboration = (record: CounterRecord) => { error: string } | undefined;

/**
 * The newest run of a lineage, and any newer attempt the counter handed out that no run carries and whose
 * admission did not fall back, with PaC's record of a failed create of it if there is one.
 */
export function lineageAttempts(
  runs: readonly PipelineRun[],
  record: CounterRecord | undefined,
  corroborate: Corroboration,
): LineageAttempts {
  const run = runs.reduce<PipelineRun | undefined>(
    (best, r) => (!best || attemptOf(r) > attemptOf(best) ? r : best),
    undefined,
  );
  const newest = run
    ? { attempt: attemptOf(run), name: run.metadata.name ?? "", run, reportFrom: run }
    : undefined;
  const ahead =
    record?.lastName !== undefined &&
    record.last > (run ? attemptOf(run) : 0) &&
    (!run || record.lineageKey === run.metadata.annotations?.[admissionKeys.lineage]) &&
    !record.fallenBack?.includes(record.last);
  if (!ahead || !record?.lastName) return { newest };
  return {
    newest,
    newer: {
      attempt: record.last,
      name: record.lastName,
      reportFrom: run ?? fromRecord(record, record.lastName),
      failure: corroborate(record),
    },
  };
}

/**
 * The attempt GitLab should follow. A newer attempt is reported as never created only with PaC's record
 * of the failure, and only once that is beyond doubt: at once when the API server's words name the
 * attempt's own run, else once its run has not appeared for `graceMs` (PaC's record names no commit, so a
 * failure of the same pipeline of another commit could otherwise be taken for this one). A counter alone
 * proves nothing: a review that never reached the API server, a create that fell back, a run since pruned.
 * `lookAgainMs` says when the answer may change without any event.
 */
export function latestToReport(
  attempts: LineageAttempts,
  newerWaitedMs: number,
  graceMs: number,
): { latest?: LatestAttempt; lookAgainMs?: number } {
  const { newest, newer } = attempts;
  if (!newer) return { latest: newest };
  const lookAgainMs = newerWaitedMs < graceMs ? graceMs - newerWaitedMs + 50 : undefined;
  const certain = newer.failure && (newer.failure.error.includes(newer.name) || newerWaitedMs >= graceMs);
  if (!newer.failure || !certain) return { latest: newest, lookAgainMs };
  return {
    latest: {
      attempt: newer.attempt,
      name: newer.name,
      run: undefined,
      reportFrom: newer.reportFrom,
      creationError: newer.failure.error,
    },
  };
}

/** Where to report a first attempt that was never created from: what the counter kept of its admission. */
function fromRecord(record: CounterRecord, name: string): PipelineRun {
  return {
    metadata: {
      name,
      namespace: record.lastSubject?.namespace,
      annotations: { ...record.lastSubject?.annotations, [admissionKeys.lineage]: record.lineageKey ?? "" },
    },
  };
}
