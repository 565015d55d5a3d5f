import type { PipelineRun } from "../../core/tekton.ts";
import { admissionKeys } from "../../core/vocabulary.ts";
import type { CounterRecord } from "../../lineage/attempt-plan.ts";
import { attemptOf } from "../../lineage/supersede.ts";

export interface LatestAttempt {
  attempt: number;
  name: string;
  /** The run, or undefined when the attempt was admitted but could not be created. */
  run?: PipelineRun;
  /** The run that says where to report: the latest, the newest that exists, or what the counter kept. */
  reportFrom: PipelineRun;
  /** Why the attempt could not be created: the API server's words, as PaC recorded them. */
  creationError?: string;
  /** When PaC recorded that (ms since the epoch). */
  creationFailedAt?: number;
}

/** A newer attempt the counter handed out that no run carries (yet). */
export interface NewerAttempt {
  attempt: number;
  name: string;
  /** When it was admitted (ms since the epoch), if the counter kept it. */
  admittedAt?: number;
  reportFrom: PipelineRun;
  /** PaC's record of a failed create of this pipeline right after this admission, if any. */
  failure?: { error: string; at: number };
}

/**
 * The newest attempt admitted, created or not: a newer one the counter handed out that no run carries
 * yet, else the newest run's. What every older attempt is older than.
 */
export function newestAdmitted(attempts: LineageAttempts): LatestAttempt | NewerAttempt | undefined {
  return attempts.newer ?? attempts.newest;
}

/** An attempt PaC could not create. */
export interface FailedCreation {
  attempt: number;
  name: string;
  /** The API server's words, as PaC recorded them. */
  error: string;
  /** When PaC recorded it (ms since the epoch). */
  at: number;
}

/** What is known of a lineage: its newest run, a newer admitted attempt without a run, earlier failures. */
export interface LineageAttempts {
  newest?: LatestAttempt;
  newer?: NewerAttempt;
  /**
   * Attempts before the counter's last that were never created, for certain (PaC's record of the failure
   * names the attempt's own run), newest first.
   */
  failedEarlier?: FailedCreation[];
}

/**
 * PaC's record that a create of the lineage's pipeline failed right after an admission at `admittedAt`
 * (ms), if there is one. The counter's last subject says which repository and pipeline.
 */
export type Corroboration = (
  record: CounterRecord,
  admittedAt: number,
  /** The run name the attempt was admitted with: a failure that names another run is not its. */
  name: string,
) => { error: string; at: number } | undefined;

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
  const ours =
    record !== undefined && (!run || record.lineageKey === run.metadata.annotations?.[admissionKeys.lineage]);
  if (!ours || !record) return { newest };
  const failedEarlier = (record.earlier ?? []).flatMap((earlier) => {
    const admittedAt = Date.parse(earlier.admittedAt ?? "");
    const created = runs.some((r) => attemptOf(r) === earlier.attempt);
    if (created || record.fallenBack?.includes(earlier.attempt) || !Number.isFinite(admittedAt)) return [];
    const failure = corroborate(record, admittedAt, earlier.name);
    // Only PaC's record naming this attempt's own run is proof: the run may have been pruned since.
    return failure?.error.includes(earlier.name)
      ? [{ attempt: earlier.attempt, name: earlier.name, error: failure.error, at: failure.at }]
      : [];
  });
  const ahead =
    record.lastName !== undefined &&
    record.last > (run ? attemptOf(run) : 0) &&
    !record.fallenBack?.includes(record.last);
  if (!ahead || !record.lastName) return { newest, failedEarlier };
  const admittedAt = Date.parse(record.lastSubject?.admittedAt ?? "");
  return {
    newest,
    newer: {
      attempt: record.last,
      name: record.lastName,
      admittedAt: Number.isFinite(admittedAt) ? admittedAt : undefined,
      reportFrom: run ?? fromRecord(record, record.lastName),
      failure: Number.isFinite(admittedAt) ? corroborate(record, admittedAt, record.lastName) : undefined,
    },
    failedEarlier,
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
      creationFailedAt: newer.failure.at,
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
