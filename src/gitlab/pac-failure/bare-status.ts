import { type ActualStatus, type GitLabState, isOpen, type StatusWrite } from "../client/api.ts";
import type { BarePart } from "../status/bare-entry.ts";
import { type DesiredStatus, supersededDescription } from "../status/desired.ts";
import { cutText, gitlabFieldLimit } from "../status/text.ts";
import { attemptWritten, planWrites, type StatusJudge } from "../status/writes.ts";

/**
 * PaC's bare failure status, and how tekton-lineage corrects it.
 *
 * Before v0.39 (and in Konflux releases built on it), when `startPR` cannot create a PipelineRun PaC posts
 * a `failed` status named only by its application name ("Pipelines as Code CI", "Konflux Production
 * Internal"), described "failed" and linked to the console's root (pkg/pipelineascode/pipelineascode.go,
 * Run: CreateStatus without OriginalPipelineRunName; pkg/provider/provider.go, GetCheckName). No later
 * status ever names it again, so the merge request's pipeline stays failed after a retest succeeds.
 * tekton-lineage takes that status over once it can tie it to creates that failed, and keeps it on the
 * latest attempt of every pipeline whose create failed.
 */

/** How close (ms) a status PaC posted is to the failure it reports: PaC posts right after its Event. */
export const pacWriteWindowMs = 180_000;

const badness: Record<GitLabState, number> = { success: 0, canceled: 1, pending: 2, running: 3, failed: 4 };

/** A status tekton-lineage wrote on the bare name ("attempt 2 …" or "build: attempt 2 …"). */
/** When PaC recorded each of the part's failures (ms since the epoch). */
export function failureTimes(part: BarePart): number[] {
  return [...(part.missingAt === undefined ? [] : [part.missingAt]), ...part.failed.map((f) => f.at)];
}

export function writtenByUs(actual: ActualStatus): boolean {
  return /^(?:\S+: )?attempt \d+ /.test(actual.description);
}

/** When a job became what it shows (GitLab's clock): when it finished, else when it was made. */
export function postedAt(job: Pick<ActualStatus, "createdAt" | "finishedAt">): string | undefined {
  return job.finishedAt ?? job.createdAt;
}

/** Whether a job that became failed at `postedAt` (its clock) could be PaC's report of a failure at `at`. */
export function nearFailure(posted: string | undefined, at: number): boolean {
  const made = Date.parse(posted ?? "");
  return Number.isFinite(made) && Math.abs(made - at) <= pacWriteWindowMs;
}

function attemptsPhrase(failed: BarePart["failed"]): string {
  const numbers = failed.flatMap((f) => (f.attempt === undefined ? [] : [f.attempt])).sort((a, b) => a - b);
  const unnumbered = failed.length - numbers.length;
  const named = numbers.length === 1 ? `attempt ${numbers[0]}` : `attempts ${numbers.join(", ")}`;
  if (numbers.length === 0) return unnumbered === 1 ? "an earlier attempt" : "earlier attempts";
  return unnumbered === 0 ? named : `${named} and an earlier one`;
}

/** The words for one pipeline, with its errors cut to `errorBudget` characters each. */
function partText(part: BarePart, errorBudget: number): string {
  const cut = (error: string) => cutText(error, Math.max(errorBudget, 1));
  if (part.latestMissing) {
    const [head, error = ""] = splitError(part.latest.description);
    return `${head}: ${cut(error)}`;
  }
  const notCreated = part.failed.filter((f) => !f.created);
  const created = part.failed.filter((f) => f.created);
  const phrases = [part.latest.description];
  if (notCreated[0])
    phrases.push(`${attemptsPhrase(notCreated)} could not be created: ${cut(notCreated[0].error)}`);
  if (created[0]) {
    const verb = created.length > 1 ? "were" : "was";
    phrases.push(
      `${attemptsPhrase(created)} ${verb} created although PaC was told: ${cut(created[0].error)}`,
    );
  }
  return phrases.join("; ");
}

/** How many of the API server's words a part quotes. */
function quotes(part: BarePart): number {
  if (part.latestMissing) return 1;
  return (part.failed.some((f) => !f.created) ? 1 : 0) + (part.failed.some((f) => f.created) ? 1 : 0);
}

/** "attempt 1 could not be created: <error>" → [head, error]. */
function splitError(description: string): [string, string] {
  const at = description.indexOf(": ");
  return at === -1 ? [description, ""] : [description.slice(0, at), description.slice(at + 2)];
}

/**
 * What the bare status should show for the pipelines of a commit whose creates failed: the worst of their
 * latest states, the link of the pipeline that decides it (its run, or for a create that failed the error
 * link, never the console's root), and words that name each pipeline and what happened, within GitLab's
 * 255 characters (the API server's words are what gets shortened).
 */
export function bareStatus(parts: readonly BarePart[], name: string): DesiredStatus | undefined {
  const sorted = [...parts].sort((a, b) => a.pipeline.localeCompare(b.pipeline));
  const worst = sorted.reduce<BarePart | undefined>(
    (w, p) => (!w || badness[p.latest.state] > badness[w.latest.state] ? p : w),
    undefined,
  );
  if (!worst) return undefined;
  const render = (budget: number) => {
    const texts = sorted.map((p) => partText(p, budget));
    return sorted.length === 1
      ? (texts[0] ?? "")
      : sorted.map((p, i) => `${p.pipeline}: ${texts[i]}`).join(" | ");
  };
  let description = render(gitlabFieldLimit);
  if ([...description].length > gitlabFieldLimit) {
    const errors = sorted.reduce((n, p) => n + quotes(p), 0) || 1;
    const fixed = [...render(0)].length;
    description = render(Math.floor((gitlabFieldLimit - fixed) / errors));
  }
  return {
    state: worst.latest.state,
    description: cutText(description),
    targetUrl: worst.latest.targetUrl,
    attempt: worst.latest.attempt,
    name: sorted.length === 1 ? worst.latest.name : name,
  };
}

/**
 * How the bare status is judged. Unlike a lineage's own status its words are exact (nobody else writes
 * them once tekton-lineage took it over), except while an open status keeps its link: only a state change
 * could change its words, and that change comes when the state does. It always speaks of the pipeline
 * that decides it, so an open one moves forward in place where GitLab allows.
 */
export const bareJudge: StatusJudge = {
  converged(actual, desired) {
    const sameLink = actual.targetUrl === desired.targetUrl;
    if (actual.status === desired.state && sameLink && actual.description === desired.description)
      return true;
    return (
      sameLink &&
      isOpen(actual.status) &&
      isOpen(desired.state) &&
      (actual.status === desired.state || actual.status === "running")
    );
  },
  sameRun: () => true,
  closing: (actual, desired) => supersededDescription(attemptWritten(actual), desired),
};

/** A bare status to bring to `desired`, and whether it is PaC's (taken over now) or already tekton-lineage's. */
export interface Correction {
  job: ActualStatus;
  desired: DesiredStatus;
  writes: StatusWrite[];
  takeover: boolean;
}

/**
 * What to correct among a commit's statuses of the bare name (`jobs`: every one, retried ones included).
 * A status is taken over only when tied to a create that failed: tekton-lineage wrote it, or it is a
 * `failed` status GitLab made within pacWriteWindowMs of a failure PaC recorded. A failure of a create
 * tekton-lineage never admitted names no commit; it counts only where PaC posted a failure of this commit
 * at that time. Never adds a status: where PaC posted none, nothing is written. Each comes with the writes it needs
 * (none when it already shows the latest).
 */
export function bareStatusesToCorrect(
  parts: readonly BarePart[],
  jobs: readonly ActualStatus[],
  name: string,
): Correction[] {
  const pacFailures = jobs.filter((j) => j.status === "failed" && !writtenByUs(j));
  // A failure of a create tekton-lineage never admitted names no commit: it counts only when PaC's failure
  // status of this commit was posted at that time — nearer to it than to any other failure known here.
  const allTimes = parts.flatMap(failureTimes);
  const nearest = (posted: string | undefined) => {
    const made = Date.parse(posted ?? "");
    return allTimes.reduce((best, at) => (Math.abs(at - made) < Math.abs(best - made) ? at : best));
  };
  const postedFor = new Set(
    pacFailures
      .filter((j) => allTimes.some((at) => nearFailure(postedAt(j), at)))
      .map((j) => nearest(postedAt(j))),
  );
  const tied = parts
    .map((p) => ({
      ...p,
      failed: p.failed.filter((f) => f.attempt !== undefined || postedFor.has(f.at)),
    }))
    .filter((p) => p.latestMissing || p.failed.length > 0);
  const desired = bareStatus(tied, name);
  if (!desired) return [];
  const times = tied.flatMap(failureTimes);
  const newest = new Map<number | undefined, ActualStatus>();
  for (const job of jobs) {
    if (job.retried) continue;
    const current = newest.get(job.pipelineId);
    if (!current || job.id > current.id) newest.set(job.pipelineId, job);
  }
  return [...newest.values()]
    .filter(
      (job) =>
        writtenByUs(job) || (job.status === "failed" && times.some((at) => nearFailure(postedAt(job), at))),
    )
    .map((job) => ({
      job,
      desired,
      writes: planWrites(job, desired, bareJudge),
      takeover: !writtenByUs(job),
    }));
}
