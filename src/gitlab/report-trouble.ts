import type { ReconcileResult, Retry } from "../core/controller.ts";
import { type BackoffPolicy, jitter } from "../kube/backoff.ts";
import type { EventSink } from "../kube/event-recorder.ts";
import type { Logger } from "../observability/logger.ts";
import { GitLabError } from "./client/api.ts";
import type { ClientSource } from "./client/gitlab-clients.ts";
import { TokenError } from "./client/token-source.ts";
import type { GitLabMetrics } from "./metrics.ts";

const repositoryKind = { apiVersion: "pipelinesascode.tekton.dev/v1alpha1", kind: "Repository" };

/** What a reporter keeps of one key for ReportTrouble, so a problem that persists is said once. */
export interface TroubleMemory {
  /** The last problem logged. */
  reported?: string;
  /** Until when (own clock) tekton-lineage has said it stops contesting another writer. */
  contestedUntil?: number;
  /** The attempt whose failed creation was already recorded as an Event. */
  creationReported?: string;
}

/**
 * What the reporters do when reporting goes wrong: say it once (a log line, a metric, an Event where a
 * tenant can mend it), and decide when to try again. Work waiting for a host that does not answer is
 * parked on the host and resumed when it answers.
 */
export class ReportTrouble {
  private readonly options: {
    clients: ClientSource;
    events: EventSink;
    metrics: GitLabMetrics;
    logger: Logger;
    clock: () => number;
    random: () => number;
  };
  /** Keys waiting for a host that does not answer or asked to wait; resumed when it answers again. */
  private readonly parked = new Map<string, Set<string>>();

  constructor(options: ReportTrouble["options"], resume: (key: string) => void) {
    this.options = options;
    options.clients.gate.onRecovered((host) => {
      const waiting = this.parked.get(host);
      this.parked.delete(host);
      for (const key of waiting ?? []) resume(key);
    });
  }

  /** A new leader starts with nothing parked: its controllers enqueue everything anyway. */
  clear(): void {
    this.parked.clear();
  }

  /** A host or token out of bounds: never contacted; said once, on the Repository (a tenant mends it there). */
  refusedHost(
    memory: TroubleMemory,
    key: string,
    namespace: string,
    repository: string | undefined,
    why: string,
  ) {
    if (memory.reported === why) return;
    memory.reported = why;
    this.options.metrics.problems.inc({ kind: "host-refused" });
    this.options.logger.warn({ lineage: key, repository }, `not reporting to GitLab: ${why}`);
    if (!repository) return;
    this.options.events.record({
      namespace,
      object: repositoryKind,
      objectName: repository,
      reason: "GitLabHostRefused",
      message: `tekton-lineage will not send a token there: ${why}`,
      type: "Warning",
    });
  }

  /**
   * A run whose annotations name a project its Repository does not own (or a fork the merge request does
   * not come from): nothing is written; said once, on the run.
   */
  refusedTarget(memory: TroubleMemory, key: string, namespace: string, run: string, why: string): void {
    if (memory.reported === why) return;
    memory.reported = why;
    this.options.metrics.problems.inc({ kind: "target-refused" });
    this.options.logger.warn({ lineage: key, run }, `not reporting to GitLab: ${why}`);
    this.options.events.record({
      namespace,
      objectName: run,
      reason: "GitLabTargetRefused",
      message: `tekton-lineage writes no status for this run: ${why}`,
      type: "Warning",
    });
  }

  /** Another writer keeps changing the status: say so once per window, and come back after it. */
  contested(memory: TroubleMemory, key: string, what: string, until: number): number {
    const now = this.options.clock();
    if ((memory.contestedUntil ?? 0) < until) {
      memory.contestedUntil = until;
      this.options.metrics.problems.inc({ kind: "contested" });
      this.options.logger.warn(
        { lineage: key },
        `another writer keeps changing GitLab status ${what}; not contesting it again for ${Math.round((until - now) / 1000)}s`,
      );
    }
    return until - now + 100;
  }

  /** An attempt that was never created, in the API server's words: an Event on the run's name, once. */
  creationFailed(memory: TroubleMemory, namespace: string, name: string, description: string): void {
    if (memory.creationReported === name) return;
    memory.creationReported = name;
    this.options.metrics.problems.inc({ kind: "creation-failed" });
    this.options.events.record({
      namespace,
      objectName: name,
      reason: "CreationFailed",
      message: description,
      type: "Warning",
    });
  }

  /** PaC's status of a commit corrected by tekton-lineage: an Event on the Repository, so people can tell. */
  corrected(namespace: string, repository: string, message: string): void {
    this.options.events.record({
      namespace,
      object: repositoryKind,
      objectName: repository,
      reason: "PacStatusCorrected",
      message,
      type: "Normal",
    });
  }

  /** When to try again after a failed report (see retryPlan); problems a person must mend are logged once. */
  failed(
    key: string,
    memory: TroubleMemory,
    target: { host: string; secret: Parameters<ClientSource["forget"]>[0] },
    error: unknown,
  ): ReconcileResult {
    const { clients, metrics, logger } = this.options;
    const hostWaitMs = clients.gate.wait(target.host).ms;
    const plan = retryPlan(error, hostWaitMs, this.options.random);
    if (plan.kind === "unexpected") throw error;
    if (plan.kind === "host") {
      const parked = this.parked.get(target.host) ?? new Set<string>();
      parked.add(key);
      this.parked.set(target.host, parked);
      logger.debug(
        { lineage: key, retryInMs: Math.round(plan.delayMs) },
        `GitLab: ${(error as Error).message}`,
      );
      return { requeueAfterMs: plan.delayMs };
    }
    if (plan.kind === "refused") {
      if (plan.forgetToken) clients.forget(target.secret);
      if (memory.reported !== plan.message) {
        memory.reported = plan.message;
        metrics.problems.inc({ kind: plan.problem });
        logger.warn({ lineage: key }, plan.message);
      }
    } else logger.debug({ lineage: key }, `GitLab: ${(error as Error).message}`);
    return { retry: plan.retry };
  }
}

/** Trouble with one request: 0.5 s doubling to a minute. */
const requestPolicy: BackoffPolicy = { baseMs: 500, capMs: 60_000 };
/** A token refused or missing: read again from 5 s, doubling to five minutes. */
const credentialsPolicy: BackoffPolicy = { baseMs: 5_000, capMs: 300_000 };
/** A project or commit GitLab does not know: five minutes. */
const refusedPolicy: BackoffPolicy = { baseMs: 300_000, capMs: 300_000, jitter: 0 };

/** What to do after a report failed, decided from the error alone. */
export type RetryPlan =
  /** The host is down or asked to wait: wait on the host; this lineage's failures do not count. */
  | { kind: "host"; delayMs: number }
  /** Trouble with this request (409 lock, 408, 500): the shell backs off for this key. */
  | { kind: "request"; retry: Retry }
  /**
   * GitLab or the cluster refused for a reason a person must mend: a token (401/403, a missing Secret) is
   * read again soon, backing off; another refusal (a project or commit GitLab does not know) waits long.
   */
  | { kind: "refused"; retry: Retry; forgetToken: boolean; problem: "config" | "refused"; message: string }
  /** Not a GitLab or token error: a bug, let the shell retry it. */
  | { kind: "unexpected" };

/** The plan for an error, when the host's own wait is `hostWaitMs`. */
export function retryPlan(error: unknown, hostWaitMs: number, random: () => number = Math.random): RetryPlan {
  if (error instanceof GitLabError && error.hostHeld) {
    // 50–250 ms after the host's wait, so the parked work does not all come back at once.
    return {
      kind: "host",
      delayMs: Math.max(error.retryAfterMs ?? 0, hostWaitMs) + jitter(150, 2 / 3, random),
    };
  }
  if (error instanceof GitLabError && error.retryable) {
    return { kind: "request", retry: { policy: requestPolicy, atLeastMs: error.retryAfterMs } };
  }
  if (error instanceof TokenError || error instanceof GitLabError) {
    const credentials = error instanceof TokenError || error.status === 401 || error.status === 403;
    return {
      kind: "refused",
      retry: { policy: credentials ? credentialsPolicy : refusedPolicy },
      forgetToken: credentials,
      problem: error instanceof TokenError ? "config" : "refused",
      message: `cannot report to GitLab: ${error.message}`,
    };
  }
  return { kind: "unexpected" };
}
