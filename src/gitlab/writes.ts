import { type DesiredStatus, type GitLabState, supersededDescription } from "./desired.ts";

/** The status GitLab shows now for the lineage's context (its newest job that is not retried). */
export interface ActualStatus {
  id: number;
  status: string;
  targetUrl: string;
  description: string;
  pipelineId?: number;
}

export interface StatusWrite {
  state: GitLabState;
  description: string;
  targetUrl: string;
}

/** The attempt a status speaks of, read from tekton-lineage's own description ("attempt N ..."). */
export function attemptShown(actual: ActualStatus): number | undefined {
  const match = /^attempt (\d+)\b/.exec(actual.description);
  return match ? Number(match[1]) : undefined;
}

/**
 * GitLab already shows the desired status: same state, same link, and the same attempt (or, for a
 * status another writer such as PaC posted, the same link, which names the same run). Wording written
 * by others is tolerated; a wrong state or a wrong link is not.
 */
export function converged(actual: ActualStatus, desired: DesiredStatus): boolean {
  const shown = attemptShown(actual);
  // GitLab already shows a newer attempt (its run was pruned since): an older one never takes it back.
  if (shown !== undefined && shown > desired.attempt) return true;
  if (actual.status !== desired.state || actual.targetUrl !== desired.targetUrl) return false;
  return shown === undefined || shown === desired.attempt;
}

const open = (status: string) => status === "pending" || status === "running";

/**
 * The posts that take GitLab from what it shows to what it should show, following GitLab's rules:
 * a pending or running status is updated in place only by a state change (so a link or an attempt can
 * only change through a transition), and re-posting its own state is refused. When a newer attempt
 * takes over an open status of an earlier one (or of another writer), the earlier one is first
 * closed as canceled, "superseded by attempt N (name)", so GitLab's history says what happened.
 */
export function planWrites(actual: ActualStatus | undefined, desired: DesiredStatus): StatusWrite[] {
  const target: StatusWrite = {
    state: desired.state,
    description: desired.description,
    targetUrl: desired.targetUrl,
  };
  if (!actual) return [target];
  if (converged(actual, desired)) return [];
  if (!open(actual.status)) return [target];
  if (desired.state === "canceled") return [target];
  const shown = attemptShown(actual);
  const sameRun = shown === desired.attempt && actual.targetUrl === desired.targetUrl;
  const close: StatusWrite = {
    state: "canceled",
    description: supersededDescription(shown, desired),
    targetUrl: actual.targetUrl,
  };
  if (!sameRun) return [close, target];
  const inPlace =
    (actual.status === "pending" && desired.state !== "pending") ||
    (actual.status === "running" && (desired.state === "success" || desired.state === "failed"));
  return inPlace ? [target] : [close, target];
}
