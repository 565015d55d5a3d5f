import { pacMade, pacStartReported, pacState, reportTakenOver } from "../../core/pac-report.ts";
import {
  cancelledReasons,
  isCancelRequested,
  isDone,
  isPending,
  type PipelineRun,
  succeededCondition,
} from "../../core/tekton.ts";
import { admissionKeys, reconcilerKeys } from "../../core/vocabulary.ts";
import { attemptOf } from "../../lineage/supersede.ts";
import type { GitLabState } from "../client/api.ts";
import type { FailingTasks } from "./failing-tasks.ts";
import type { LatestAttempt } from "./latest.ts";
import type { LineageView } from "./lineage-view.ts";
import type { Links } from "./links.ts";
import { cutText } from "./text.ts";

/** One attempt of a lineage as the reporter sees it. */
export interface ReportedAttempt {
  attempt: number;
  /** The run's name (for a run never created: the name it was admitted with). */
  name: string;
  namespace: string;
  lineageId: string;
  /** Undefined when the attempt was admitted but never created. */
  run?: PipelineRun;
  /** Why the create failed, when known. */
  creationError?: string;
  /** The first task that failed, when the run failed and it is known. */
  failingTask?: string;
}

export interface DesiredStatus {
  state: GitLabState;
  /** The lineage: a status whose link names another lineage's run speaks of another lineage's attempts. */
  lineageId?: string;
  description: string;
  /** "" when there is nothing honest to link to (GitLab clears the old link). */
  targetUrl: string;
  attempt: number;
  name: string;
  /**
   * Every link that names a run of the lineage (tekton-lineage's and PaC's), and the attempt it names: how a
   * status PaC wrote, in its own words, is known to speak of one attempt or another.
   */
  attemptLinks?: ReadonlyMap<string, number>;
}

/**
 * What GitLab should show for a lineage: the state of its latest attempt, a link to that run (or, for a
 * run never created, to the error page when one is configured; never the console root), and a
 * description that says which attempt it is and what went wrong.
 */
export function desiredStatus(latest: ReportedAttempt, links: Links): DesiredStatus {
  const base = { attempt: latest.attempt, name: latest.name, lineageId: latest.lineageId };
  const run = latest.run;
  const prefix = `attempt ${latest.attempt}`;
  if (!run) {
    // Reported only when the reason is known (PaC recorded the API server's words): never invented.
    const why = latest.creationError ?? "the create failed";
    return {
      ...base,
      state: "failed",
      description: cutText(`${prefix} could not be created: ${why}`),
      targetUrl: links.missing(latest),
    };
  }
  const targetUrl = links.run(run);
  const annotations = run.metadata.annotations ?? {};
  const condition = succeededCondition(run);
  if (isDone(run)) {
    if (condition?.status === "True")
      return { ...base, state: "success", description: `${prefix} succeeded`, targetUrl };
    const reason = condition?.reason ?? "Failed";
    if (cancelledReasons.includes(reason)) {
      // Cancelled by tekton-lineage: its decision says why, in words that begin with "cancelled".
      const decision = annotations[reconcilerKeys.queueDecision];
      const byQueue = annotations[reconcilerKeys.queueOutcome] === "cancelled" && decision;
      const said = byQueue ? `${prefix} ${decision}` : `${prefix} cancelled`;
      return { ...base, state: "canceled", description: cutText(said), targetUrl };
    }
    const task = latest.failingTask ? ` task ${latest.failingTask} failed:` : "";
    const message = (condition?.message ?? "").trim();
    return {
      ...base,
      state: "failed",
      description: cutText(`${prefix} failed (${reason}):${task} ${message}`.replace(/:\s*$/, "")),
      targetUrl,
    };
  }
  if (isCancelRequested(run)) {
    return { ...base, state: "canceled", description: `${prefix} cancelling`, targetUrl };
  }
  if (isPending(run)) {
    if (annotations[admissionKeys.pendingByQueue] === "true") {
      // No place in line: it changes with every start of the queue, and each change would be a GitLab
      // write per waiting run (`kubectl lineage queue list` shows places, from the queue's Lease).
      const queue = annotations[admissionKeys.queue] ?? "its queue";
      return {
        ...base,
        state: "pending",
        description: cutText(`${prefix} queued in ${queue}`),
        targetUrl,
      };
    }
    return { ...base, state: "pending", description: `${prefix} pending (not started yet)`, targetUrl };
  }
  if (pacWillReportStart(run)) {
    // PaC posts in_progress (GitLab's running) for this run itself. A running status posted first would
    // make PaC's post a refused transition, which PaC before v0.41 turns into a merge-request note;
    // pending leaves PaC's running a legal step, and in words that stay true once it is running.
    return { ...base, state: "pending", description: startedDescription(latest.attempt), targetUrl };
  }
  return { ...base, state: "running", description: `${prefix} running`, targetUrl };
}

/**
 * PaC made the run and has not reported its start yet, but will: startPR posts in_progress right after
 * its create, and the watcher posts it for a run Tekton runs whose start is unreported
 * (updatePipelineRunToInProgress) — unless tekton-lineage took the run's report over.
 */
function pacWillReportStart(run: PipelineRun): boolean {
  return pacMade(run) && !pacStartReported(run) && !reportTakenOver(run);
}

/** How long after a create PaC is given to post its own first status before tekton-lineage writes. */
export const pacFirstWordMs = 5_000;

/**
 * How long to wait (ms) before writing anything for a run PaC has just created and not yet reported:
 * GitLab takes one write per commit at a time and answers the other 409 — PaC's startPR does not retry,
 * so a status of tekton-lineage's posted at that moment makes PaC's own fail (before v0.38 an Event and
 * a note, from v0.38 a note when both projects refuse). PaC writes first; undefined when nothing to wait.
 */
export function untilPacHasSpoken(run: PipelineRun | undefined, now: number): number | undefined {
  if (!run || isDone(run) || !pacWillReportStart(run) || pacState(run) === "queued") return undefined;
  const created = Date.parse(run.metadata.creationTimestamp ?? "");
  if (!Number.isFinite(created)) return undefined;
  const left = created + pacFirstWordMs - now;
  return left > 0 ? left : undefined;
}

/** Words for a run PaC made and has yet to report started: true while pending, and once running. */
export function startedDescription(attempt: number): string {
  return `attempt ${attempt} started`;
}

/** What an earlier attempt becomes when a newer one takes the status over. */
export function supersededDescription(
  previous: number | undefined,
  latest: { attempt: number; name: string },
): string {
  const which = previous === undefined ? "an earlier attempt" : `attempt ${previous}`;
  return cutText(`${which} superseded by attempt ${latest.attempt} (${latest.name})`);
}

/**
 * What GitLab should show for a lineage whose latest attempt is `latest`: its status, and every link that
 * names a run of the lineage with the attempt it names. The reporter writes it; `explain` shows it.
 */
export async function lineageDesiredStatus(
  view: LineageView,
  latest: LatestAttempt,
  links: Links,
  failingTasks: Pick<FailingTasks, "of">,
): Promise<DesiredStatus> {
  const failed = latest.run && isDone(latest.run) && succeededCondition(latest.run)?.status === "False";
  const attemptLinks = new Map<string, number>();
  for (const run of view.runs) for (const link of links.namesOf(run)) attemptLinks.set(link, attemptOf(run));
  const status = desiredStatus(
    {
      attempt: latest.attempt,
      name: latest.name,
      namespace: view.namespace,
      lineageId: view.lineageId,
      run: latest.run,
      creationError: latest.creationError,
      failingTask: failed && latest.run ? await failingTasks.of(latest.run) : undefined,
    },
    links,
  );
  return { ...status, attemptLinks };
}
