import { createHash } from "node:crypto";
import { pacReported, pacWillReport, reportTakenOver } from "../../core/pac-report.ts";
import { isCancelRequested, isDone, type PipelineRun } from "../../core/tekton.ts";
import { jitter } from "../../kube/backoff.ts";
import { attemptOf } from "../../lineage/supersede.ts";
import type { TroubleMemory } from "../report-trouble.ts";
import type { BarePart } from "./bare-entry.ts";
import type { KnownStatus } from "./converge.ts";
import type { DesiredStatus } from "./desired.ts";
import type { LineageView } from "./lineage-view.ts";
import type { ReportTarget } from "./target.ts";

/**
 * When GitLab is read again after a run PaC may still report wrongly has ended (ms after it was seen): PaC's
 * watcher posts a final status for every run that ends (reconciler.reportFinalStatus → postFinalStatus,
 * retried after 1, 3 and 5 s), on the same status name and, with the same token, onto whichever job of that
 * name is open — the latest attempt's. tekton-lineage takes such reports from PaC (gitlab/status/
 * pac-reports.ts), but a PaC reconcile already under way posts anyway. Read promptly, such a write is undone
 * before anyone looks.
 */
export const readsAfterRunEnded: readonly number[] = [1000, 3000, 7000, 15_000, 30_000];

/** What the reporter remembers of one lineage between reconciles. */
export interface LineageMemory extends TroubleMemory {
  known?: KnownStatus;
  /** The project that took the last status (source or target of the merge request). */
  project?: string;
  /** Since when (own clock) a newer attempt has had no run. */
  newerSince?: { attempt: number; since: number };
  /** Since when (own clock) the latest attempt has been done: GitLab is read for two resyncs more. */
  doneSince?: number;
  /** The ended runs whose report PaC may still post wrongly, to notice one that just joined them. */
  guardedRuns?: Set<string>;
  /** The latest attempt's runs that ended by themselves and that PaC has yet to report. */
  awaitingPacReport?: Set<string>;
  /** Reading GitLab again after a run ended: since when (own clock) and how many reads are done. */
  afterRunEnded?: { since: number; reads: number };
  /** The creation failure (when PaC recorded it) whose status PaC may still be posting. */
  failureSeen?: number;
  /**
   * The lineage as it was when the reporter last stopped coming back (quietKey): while it is the same, a
   * reconcile — an informer's resync, every --resync — does not read GitLab again.
   */
  quiet?: string;
  /** The commit whose bare status the lineage has a part of (to take it off that board when forgotten). */
  bareCommit?: string;
}

export function newMemory(): LineageMemory {
  return {};
}

/**
 * How each ended run of a lineage is watched for PaC's final report of it (`newestAttempt`: the newest
 * attempt admitted, created or not):
 *
 * - `guarded`: a run PaC may report onto the status *wrongly* — an older attempt, one someone asked to
 *   cancel (PaC calls a cancelled run still Unknown a success), one whose report tekton-lineage took —
 *   and that PaC has not reported itself (then it never reports it again). GitLab is read on
 *   readsAfterRunEnded from when it joins this set; a run of the latest attempt joins it when a newer
 *   attempt is admitted, which is when PaC's late report of it starts to mislead.
 * - `awaitingPacReport`: the latest attempt's run, ended by itself, that PaC will report. PaC's report
 *   agrees with tekton-lineage's in state and may differ in words and link; PaC writes its state
 *   annotation only after its post (reportFinalStatus, v0.37.0 and v0.50.0), so GitLab is read once when
 *   that annotation says PaC reported — not on a timer.
 *
 * A run of the latest attempt that PaC does not report gets no reads: nobody else reports it.
 */
export function endedRunWatches(
  runs: readonly PipelineRun[],
  newestAttempt: number,
): { guarded: Set<string>; awaitingPacReport: Set<string> } {
  const guarded = new Set<string>();
  const awaitingPacReport = new Set<string>();
  for (const run of runs) {
    if (!isDone(run)) continue;
    const name = run.metadata.name ?? "";
    const own = attemptOf(run) >= newestAttempt && !isCancelRequested(run) && !reportTakenOver(run);
    if (own) {
      if (pacWillReport(run)) awaitingPacReport.add(name);
    } else if (pacWillReport(run) || reportTakenOver(run)) guarded.add(name);
  }
  return { guarded, awaitingPacReport };
}

/**
 * Notices runs of the lineage that ended (or whose report PaC just posted) since the last reconcile and,
 * when one did, starts the reads it needs (endedRunWatches); when one is due, what is known of GitLab no
 * longer counts as fresh.
 */
export function noticeEndedRuns(
  memory: LineageMemory,
  runs: readonly PipelineRun[],
  newestAttempt: number,
  now: number,
): void {
  const { guarded, awaitingPacReport } = endedRunWatches(runs, newestAttempt);
  const seenBefore = memory.guardedRuns !== undefined;
  const joined = seenBefore && [...guarded].some((name) => !memory.guardedRuns?.has(name));
  // A run PaC was to report is now reported (its state final, not by tekton-lineage's take-over).
  const pacSpoke = [...(memory.awaitingPacReport ?? [])].some((name) => {
    const run = runs.find((r) => r.metadata.name === name);
    return run !== undefined && pacReported(run) && !reportTakenOver(run);
  });
  memory.guardedRuns = guarded;
  memory.awaitingPacReport = awaitingPacReport;
  if (joined) memory.afterRunEnded = { since: now, reads: 0 };
  if ((dueAfterRunEnded(memory, now) || pacSpoke) && memory.known)
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
  clocks: { now: number; wallNow: number },
): void {
  if (failedAt === undefined || memory.failureSeen === failedAt) return;
  memory.failureSeen = failedAt;
  // Recorded longer ago than the reads last (a restart, a bucket taken over): PaC has long posted it.
  const last = readsAfterRunEnded.at(-1) ?? 0;
  if (clocks.wallNow - failedAt < last) memory.afterRunEnded = { since: clocks.now, reads: 0 };
}

function dueAfterRunEnded(memory: LineageMemory, now: number): boolean {
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

/**
 * While the latest attempt runs, GitLab is read again every resync; once it is done, for two resyncs more
 * (another writer may still move its status) — counted in time from when the reporter first saw it done
 * (`now`, own clock), not in reconciles: a reconcile for some other change finds what is known fresh and
 * reads nothing. And counted from the attempt's end (`wallNow`, ms since the epoch) too, so a reporter
 * that meets an attempt ended long ago (a restart, a bucket taken over) reads it once, not three times.
 */
export function nextResync(
  memory: LineageMemory,
  latest: { run?: PipelineRun; creationFailedAt?: number },
  resyncMs: number,
  random: () => number,
  clocks: { now: number; wallNow: number },
): number | undefined {
  const { run } = latest;
  if (run && !isDone(run)) memory.doneSince = undefined;
  else {
    memory.doneSince ??= clocks.now;
    // An attempt never created ended when PaC recorded that its create failed.
    const endedAt = run
      ? Date.parse(run.status?.completionTime ?? "")
      : (latest.creationFailedAt ?? Number.NaN);
    if (clocks.now - memory.doneSince >= 2 * resyncMs || clocks.wallNow - endedAt >= 2 * resyncMs)
      return undefined;
  }
  // Spread upwards only (one resync to 1.2): a requeue sooner than a resync would find what is known
  // still fresh and read nothing.
  return jitter(resyncMs * 1.1, 0.1 / 1.1, random);
}

/**
 * What a quiet lineage's reporting depends on: its runs' versions, the newest attempt admitted, PaC's
 * failures (and its part of its commit's bare status), and the status it wants where. Any change of these (a run written, an attempt admitted, a
 * Repository or setting that moves the status) makes the lineage read GitLab again; a resync alone does
 * not. GitLab's own changes are read while something may still make them (the after-end reads, the two
 * resyncs after done); past those, no writer tekton-lineage knows of is left — PaC posts only for runs.
 */
export function quietKey(
  view: Pick<LineageView, "runs" | "unadmitted" | "createdDespite">,
  newestAttempt: number,
  desired: Pick<DesiredStatus, "state" | "description" | "targetUrl" | "attempt">,
  target: Pick<ReportTarget, "host" | "projects" | "sha" | "context">,
  creationFailedAt: number | undefined,
  barePart?: BarePart,
): string {
  // Hashed: kept for every quiet lineage, and its parts are long (descriptions, links, run names).
  const parts = JSON.stringify([
    view.runs.map((run) => `${run.metadata.name}@${run.metadata.resourceVersion}`),
    newestAttempt,
    view.unadmitted.length,
    view.createdDespite.length,
    creationFailedAt,
    // What the lineage adds to its commit's bare status (earlier attempts whose creates failed).
    barePart ?? null,
    desired.state,
    desired.description,
    desired.targetUrl,
    desired.attempt,
    target.host,
    target.projects,
    target.sha,
    target.context,
  ]);
  return createHash("sha256").update(parts).digest("base64url").slice(0, 22);
}
