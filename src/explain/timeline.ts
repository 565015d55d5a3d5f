import { type PipelineRun, succeededCondition } from "../core/tekton.ts";
import { admissionKeys, reconcilerKeys } from "../core/vocabulary.ts";
import type { ActualStatus } from "../gitlab/client/api.ts";
import type { LineageView } from "../gitlab/status/lineage-view.ts";
import type { CachedEvent } from "../kube/event-source.ts";
import type { CounterRecord } from "../lineage/attempt-plan.ts";
import { attemptOf } from "../lineage/supersede.ts";

/** One happening around an attempt, from an Event (tekton-lineage's, PaC's, Tekton's). */
export interface TimelineEvent {
  at: string;
  reason: string;
  message: string;
  by: string;
}

/** One attempt of a lineage, as far as the cluster remembers it. */
export interface AttemptTimeline {
  attempt: number;
  name: string;
  admittedAt?: string;
  /** When the run was stored; absent when it never was (or was deleted since). */
  createdAt?: string;
  /** Why there is no run, when there is none. */
  notCreated?: string;
  queue?: { key: string; ticket?: string; enqueuedAt?: string; decision?: string; outcome?: string };
  startedAt?: string;
  finishedAt?: string;
  /** Running, Pending, Succeeded, Failed: <reason> — <message>, ... */
  state?: string;
  supersedes?: string;
  /** The attempt GitLab follows. */
  latest: boolean;
  events: TimelineEvent[];
}

/** What GitLab should show and what it shows, for the lineage's status name. */
export interface GitLabComparison {
  /** Where: host, project(s), sha, status name; or why the lineage is not reported. */
  target?: { host: string; projects: readonly string[]; sha: string; context: string };
  notReported?: string;
  should?: { state: string; description: string; targetUrl: string; attempt: number };
  shows?: {
    state: string;
    description: string;
    targetUrl: string;
    job: number;
    author?: string;
    at?: string;
  };
  /** GitLab could not be read (the reason), or shows nothing for the name yet. */
  showsError?: string;
  agrees?: boolean;
}

export interface Explanation {
  lineage: { key: string; id: string; namespace: string; pipeline?: string; commit?: string };
  attempts: AttemptTimeline[];
  gitlab: GitLabComparison;
  /** What explain could not take into account, or left out (runs whose claims do not verify). */
  notes?: string[];
}

/** Everything read about one lineage: the view the reporter uses, its counter, the Events of its runs. */
export interface LineageFacts {
  view: LineageView;
  record?: CounterRecord;
  /** Events whose object is one of the lineage's runs (any source). */
  events: readonly CachedEvent[];
  /** The attempt GitLab follows (latestToReport), if any. */
  latestAttempt?: number;
  gitlab: GitLabComparison;
}

/** The lineage as a timeline: every attempt known, oldest first, with what happened to it. */
export function explainLineage(facts: LineageFacts): Explanation {
  const { view, record } = facts;
  const byAttempt = new Map<number, AttemptTimeline>();
  for (const run of view.runs) {
    const attempt = attemptOf(run);
    byAttempt.set(attempt, { ...fromRun(run, facts.events), latest: attempt === facts.latestAttempt });
  }
  // Attempts the counter handed out that no run carries: the last, and the (up to three) before it.
  const counted = record
    ? [
        ...(record.earlier ?? []).map((e) => ({
          attempt: e.attempt,
          name: e.name,
          admittedAt: e.admittedAt,
        })),
        ...(record.lastName
          ? [{ attempt: record.last, name: record.lastName, admittedAt: record.lastSubject?.admittedAt }]
          : []),
      ]
    : [];
  for (const { attempt, name, admittedAt } of counted) {
    if (byAttempt.has(attempt)) continue;
    byAttempt.set(attempt, {
      attempt,
      name,
      admittedAt,
      notCreated: whyNotCreated(facts, attempt),
      latest: attempt === facts.latestAttempt,
      events: [],
    });
  }
  return {
    lineage: {
      key: view.key,
      id: view.lineageId,
      namespace: view.namespace,
      pipeline: view.pipeline,
      commit: view.commit || undefined,
    },
    attempts: [...byAttempt.values()].sort((a, b) => a.attempt - b.attempt),
    gitlab: facts.gitlab,
  };
}

function whyNotCreated(facts: LineageFacts, attempt: number): string {
  const { view, record } = facts;
  if (record?.fallenBack?.includes(attempt))
    return "its admission fell back after the number was counted: the run was created without tekton-lineage's name";
  const newer = view.attempts.newer;
  if (newer?.attempt === attempt && newer.failure) return `the create failed: ${newer.failure.error}`;
  const earlier = view.attempts.failedEarlier?.find((f) => f.attempt === attempt);
  if (earlier) return `the create failed: ${earlier.error}`;
  if (newer?.attempt === attempt)
    return "no run carries it (yet): the create may still be on its way, or failed without PaC recording why";
  return "no run carries it: deleted (pruned) since, or never created with no record of why";
}

function fromRun(run: PipelineRun, events: readonly CachedEvent[]): Omit<AttemptTimeline, "latest"> {
  const annotations = run.metadata.annotations ?? {};
  const status = run.status as { startTime?: string; completionTime?: string } | undefined;
  const queueKey = annotations[admissionKeys.queue];
  const name = run.metadata.name ?? "";
  return {
    attempt: attemptOf(run),
    name,
    admittedAt: annotations[admissionKeys.admittedAt],
    createdAt: run.metadata.creationTimestamp ? String(run.metadata.creationTimestamp) : undefined,
    ...(queueKey
      ? {
          queue: {
            key: queueKey,
            ticket: annotations[admissionKeys.queueTicket],
            enqueuedAt: annotations[admissionKeys.enqueuedAt],
            decision: annotations[reconcilerKeys.queueDecision],
            outcome: annotations[reconcilerKeys.queueOutcome],
          },
        }
      : {}),
    startedAt: status?.startTime,
    finishedAt: status?.completionTime,
    state: stateOf(run),
    supersedes: annotations[admissionKeys.supersedes],
    events: events
      .filter(
        (e) => e.involvedObject?.name === name && e.involvedObject?.namespace === run.metadata.namespace,
      )
      .map(timelineEvent)
      .sort((a, b) => a.at.localeCompare(b.at)),
  };
}

function stateOf(run: PipelineRun): string {
  const condition = succeededCondition(run);
  const spec = run.spec as { status?: string } | undefined;
  if (!condition) return spec?.status ? `not started (${spec.status})` : "not started";
  const detail = [condition.reason, condition.message?.trim()].filter(Boolean).join(" — ");
  const word =
    condition.status === "True" ? "Succeeded" : condition.status === "False" ? "Failed" : "Running";
  return detail ? `${word}: ${detail}` : word;
}

export function timelineEvent(event: CachedEvent): TimelineEvent {
  const at =
    event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? event.metadata.creationTimestamp;
  return {
    at: at ? new Date(at as string | Date).toISOString() : "",
    reason: event.reason ?? "",
    message: (event.message ?? "").trim(),
    by: event.reportingComponent || event.source?.component || "",
  };
}

/** GitLab's job for the status name, in the words of the comparison. */
export function shownStatus(job: ActualStatus): NonNullable<GitLabComparison["shows"]> {
  return {
    state: job.status,
    description: job.description,
    targetUrl: job.targetUrl,
    job: job.id,
    author: job.author,
    at: job.createdAt,
  };
}
