import { type ActualStatus, isOpen, type StatusWrite } from "../client/api.ts";
import { type DesiredStatus, startedDescription, supersededDescription } from "./desired.ts";

/** The attempt a status speaks of, from tekton-lineage's own words ("attempt N ..."). */
export function attemptWritten(actual: ActualStatus): number | undefined {
  const match = /^attempt (\d+)\b/.exec(actual.description);
  return match ? Number(match[1]) : undefined;
}

/**
 * The attempt of this lineage a status speaks of: from tekton-lineage's words, else from its link, when
 * that names a run of the lineage (PaC writes in its own words — "successfully validated your commit",
 * "failed" — but links the run it speaks of). A status whose link names a run of another lineage (one that
 * shares the status name: a push and a merge request of one commit) speaks of none of this lineage's.
 */
export function attemptShown(
  actual: ActualStatus,
  desired: Pick<DesiredStatus, "attemptLinks" | "lineageId">,
): number | undefined {
  return ownAttemptWritten(actual, desired) ?? desired.attemptLinks?.get(actual.targetUrl);
}

/** tekton-lineage's "attempt N" words, when the status's link does not name another lineage's run. */
function ownAttemptWritten(
  actual: ActualStatus,
  desired: Pick<DesiredStatus, "attemptLinks" | "lineageId">,
): number | undefined {
  const foreign =
    desired.lineageId !== undefined &&
    actual.targetUrl !== "" &&
    !new RegExp(`\\b${desired.lineageId}\\b`).test(actual.targetUrl) &&
    !desired.attemptLinks?.has(actual.targetUrl);
  return foreign ? undefined : attemptWritten(actual);
}

/**
 * GitLab already shows the desired status: same state, and the same attempt with the desired link (or,
 * for a status another writer such as PaC posted, the same link; while it is open, any link that names
 * the same run, as only a state change could change it). Wording written by others is tolerated, but
 * not a failure that loses its reason (failureWithoutReason); a wrong state, a wrong attempt or a link
 * that names no run is not tolerated — nor tekton-lineage's own words once they no longer say what the
 * status is: GitLab keeps a description a later post leaves blank (PaC's in_progress over
 * tekton-lineage's "queued" status), and a finished status keeps "cancelling".
 */
export function converged(actual: ActualStatus, desired: DesiredStatus): boolean {
  const written = ownAttemptWritten(actual, desired);
  // GitLab already shows a newer attempt (its run was pruned since): an older one never takes it back.
  if (written !== undefined && written > desired.attempt) return true;
  // PaC shows a queued run as running (CreateStatus: pending → running), and GitLab cannot go back.
  const sameRun = attemptShown(actual, desired) === desired.attempt;
  if (sameRun && actual.status === "running" && desired.state === "pending") return true;
  if (actual.status !== desired.state) return false;
  if (actual.targetUrl === desired.targetUrl)
    return written === undefined
      ? !failureWithoutReason(actual, desired)
      : written === desired.attempt && ownWordsStillTrue(actual, desired);
  return isOpen(actual.status) && written === undefined && sameRun;
}

/**
 * A finished failure in another writer's words, where tekton-lineage says why (the failed task, the
 * condition's message): PaC's watcher posts just "failed" after tekton-lineage's report of the same run,
 * and the reason is what the merge request needs. Other words are tolerated; this one is replaced once
 * (a new job, as repairs are: bounded by the repair budget).
 */
function failureWithoutReason(actual: ActualStatus, desired: DesiredStatus): boolean {
  return (
    desired.state === "failed" && actual.status === "failed" && actual.description !== desired.description
  );
}

/**
 * tekton-lineage's description on a status in the desired state still says what it should: the same
 * words, or "attempt N started" (written pending before PaC's in_progress, which GitLab then moved to
 * running in place) on the running status of that attempt.
 */
function ownWordsStillTrue(actual: ActualStatus, desired: DesiredStatus): boolean {
  if (actual.description === desired.description) return true;
  return desired.state === "running" && actual.description === startedDescription(desired.attempt);
}

/** How a planner reads a status: whether it already shows what is desired, whether it speaks of the desired run, and the words that close it. */
export interface StatusJudge {
  converged(actual: ActualStatus, desired: DesiredStatus): boolean;
  /** An open status of the desired run is moved forward in place, never called superseded. */
  sameRun(actual: ActualStatus, desired: DesiredStatus): boolean;
  closing(actual: ActualStatus, desired: DesiredStatus): string;
}

/** A lineage's own status: attempts read from tekton-lineage's words and the lineage's links. */
export const lineageJudge: StatusJudge = {
  converged,
  sameRun: (actual, desired) => attemptShown(actual, desired) === desired.attempt,
  closing(actual, desired) {
    const shown = attemptShown(actual, desired);
    return shown === desired.attempt
      ? `attempt ${shown}: status replaced by "${desired.description}"`.slice(0, 255)
      : supersededDescription(shown, desired);
  },
};

/**
 * The posts that take GitLab from what it shows to what it should show, following GitLab's rules:
 * a pending or running status is updated in place only by a state change (so a link or an attempt can
 * only change through a transition), and re-posting its own state is refused. When a newer attempt
 * takes over an open status of an earlier one (or of another writer), the earlier one is first
 * closed as canceled, "superseded by attempt N (name)", so GitLab's history says what happened; an open
 * status of the same run (PaC's own, say) is moved forward in place, never called superseded.
 */
export function planWrites(
  actual: ActualStatus | undefined,
  desired: DesiredStatus,
  judge: StatusJudge = lineageJudge,
): StatusWrite[] {
  const target: StatusWrite = {
    state: desired.state,
    description: desired.description,
    targetUrl: desired.targetUrl,
  };
  if (!actual) return [target];
  if (judge.converged(actual, desired)) return [];
  if (!isOpen(actual.status) || desired.state === "canceled") return [target];
  const close: StatusWrite = {
    state: "canceled",
    description: judge.closing(actual, desired),
    targetUrl: actual.targetUrl,
  };
  if (!judge.sameRun(actual, desired)) return [close, target];
  const inPlace =
    (actual.status === "pending" && desired.state !== "pending") ||
    (actual.status === "running" && (desired.state === "success" || desired.state === "failed"));
  return inPlace ? [target] : [close, target];
}

/**
 * What to post after GitLab refused a transition although what it shows (`shown`) is not open: an open
 * job of this user that another user's status retired still takes this user's posts (GitLab finds it,
 * retried or not). That job is closed first, so the next post makes a new one.
 */
export function writesAfterRefusal(
  shown: ActualStatus | undefined,
  writes: readonly StatusWrite[],
  desired: DesiredStatus,
): StatusWrite[] {
  if (writes.length === 0 || (shown && isOpen(shown.status))) return [...writes];
  const close: StatusWrite = {
    state: "canceled",
    description: supersededDescription(undefined, desired),
    targetUrl: "",
  };
  return [close, ...writes];
}
