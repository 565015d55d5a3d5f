import { backoffDelay } from "../core/backoff.ts";
import type { Repository } from "../core/repository.ts";
import type { RunActions } from "../core/run-actions.ts";
import { isDone, type PipelineRun, succeededCondition } from "../core/tekton.ts";
import { labelKeys, pac, reconcilerKeys } from "../core/vocabulary.ts";
import { WorkQueue } from "../core/work-queue.ts";
import type { EventRecorder } from "../kube/event-recorder.ts";
import type { Informer } from "../kube/informer.ts";
import type { CachedLease } from "../kube/leases.ts";
import { attemptLeaseName, readRecord } from "../lineage/attempts.ts";
import type { Logger } from "../observability/logger.ts";
import { GitLabApi, GitLabError } from "./api.ts";
import { TokenError, type TokenSource } from "./credentials.ts";
import { type DesiredStatus, desiredStatus, type LinkTemplates } from "./desired.ts";
import type { FailingTasks } from "./failing-task.ts";
import { HostGate } from "./host-gate.ts";
import { latestAttempt } from "./latest.ts";
import type { GitLabMetrics } from "./metrics.ts";
import { type ReportSettings, type ReportTarget, reportTarget } from "./target.ts";
import { type ActualStatus, converged, planWrites } from "./writes.ts";

export interface GitLabReporterOptions {
  runs: Informer<PipelineRun>;
  /** Attempt counters (to see attempts admitted but never created). */
  counters: Informer<CachedLease>;
  countersNamespace: string;
  repositories: Informer<Repository>;
  tokens: TokenSource;
  failingTasks: FailingTasks;
  actions: RunActions;
  events: EventRecorder;
  metrics: GitLabMetrics;
  logger: Logger;
  settings: ReportSettings;
  links: LinkTemplates;
  /** How long an admitted attempt may take to appear before it counts as never created. */
  creationGraceMs: number;
  /** How often GitLab is read again for a lineage still in progress (drift from other writers). */
  resyncMs: number;
  timeoutMs: number;
  /** Repairs of one lineage's status allowed per window before tekton-lineage stops contesting. */
  maxRepairs: number;
  repairWindowMs: number;
  clock?: () => number;
}

interface Memory {
  /** What GitLab showed last (read or written), for which target, and when. */
  known?: { key: string; status: ActualStatus; at: number };
  /** Since when (own clock) the latest attempt has been missing. */
  missing?: { attempt: number; since: number };
  repairs: number[];
  failures: number;
  reported?: string;
  /** Until when (own clock) tekton-lineage has said it stops contesting another writer. */
  contestedUntil?: number;
  /** The attempt whose failed creation was already recorded as an Event. */
  creationReported?: string;
  checksAfterDone: number;
}

const lineageIndex = "lineage-id";

/**
 * Keeps the GitLab commit status of every lineage on its latest attempt. Level-based: for each lineage
 * it computes what GitLab should show (desiredStatus), compares with what GitLab shows (remembered from
 * its own writes, read again every resyncMs), and posts only the difference (planWrites). 409, 429 and
 * 5xx are retried with backoff and jitter honouring Retry-After; an outage delays reports and loses none,
 * because the lineage stays queued until GitLab agrees. Repairs against another writer are bounded.
 */
export class GitLabReporter {
  private readonly o: GitLabReporterOptions;
  private readonly memory = new Map<string, Memory>();
  /** One client per GitLab host and token Secret, replaced when the token in the Secret changes. */
  private readonly apis = new Map<string, { token: string; api: GitLabApi }>();
  private readonly gate = new HostGate();
  /** Lineages waiting for a host that does not answer or asked to wait; resumed when it answers again. */
  private readonly parked = new Map<string, Set<string>>();
  private readonly clock: () => number;
  private work: WorkQueue | undefined;

  constructor(options: GitLabReporterOptions) {
    this.o = options;
    this.clock = options.clock ?? (() => performance.now());
    options.runs.addIndex(lineageIndex, (run) => run.metadata.labels?.[labelKeys.lineageId]);
    options.runs.onChange((run) => {
      const id = run.metadata.labels?.[labelKeys.lineageId];
      if (id) this.work?.add(id);
    });
    options.counters.onChange((lease) => {
      const id = lease.metadata.labels?.[labelKeys.lineageId];
      if (id) this.work?.add(id);
    });
    this.gate.onRecovered((host) => {
      const waiting = this.parked.get(host);
      this.parked.delete(host);
      for (const id of waiting ?? []) this.work?.add(id);
    });
  }

  run(signal: AbortSignal): void {
    const work = new WorkQueue({
      name: "gitlab",
      concurrency: 8,
      handler: (id) => this.reconcile(id),
      logger: this.o.logger,
    });
    this.work = work;
    this.parked.clear();
    void Promise.all([this.o.runs.whenSynced(), this.o.counters.whenSynced()]).then(() => {
      if (!signal.aborted) for (const id of this.o.runs.indexValues(lineageIndex)) work.add(id);
    });
    signal.addEventListener("abort", () => work.stop(), { once: true });
  }

  private memoryOf(id: string): Memory {
    let memory = this.memory.get(id);
    if (!memory) {
      memory = { repairs: [], failures: 0, checksAfterDone: 0 };
      this.memory.set(id, memory);
    }
    return memory;
  }

  async reconcile(lineageId: string): Promise<void> {
    const runs = this.o.runs.byIndex(lineageIndex, lineageId);
    const counter = this.o.counters.get(this.o.countersNamespace, attemptLeaseName(lineageId));
    const latest = latestAttempt(runs, counter ? readRecord(counter) : undefined);
    if (!latest) {
      this.memory.delete(lineageId);
      return;
    }
    const memory = this.memoryOf(lineageId);
    const namespace = latest.sample.metadata.namespace ?? "";
    if (!latest.run) {
      if (memory.missing?.attempt !== latest.attempt)
        memory.missing = { attempt: latest.attempt, since: this.clock() };
      const waited = this.clock() - memory.missing.since;
      if (waited < this.o.creationGraceMs) {
        this.work?.addAfter(lineageId, this.o.creationGraceMs - waited + 50);
        return;
      }
    } else memory.missing = undefined;

    const repository = this.o.repositories.get(
      namespace,
      latest.sample.metadata.annotations?.[pac.repository] ?? "",
    );
    const target = reportTarget(latest.run ?? latest.sample, repository, this.o.settings);
    if ("skip" in target) {
      this.o.logger.debug({ lineage: lineageId, why: target.skip }, "not reporting to GitLab");
      return;
    }
    const failed = latest.run && isDone(latest.run) && succeededCondition(latest.run)?.status === "False";
    const desired = desiredStatus(
      {
        attempt: latest.attempt,
        name: latest.name,
        namespace,
        lineageId,
        run: latest.run,
        failingTask: failed && latest.run ? await this.o.failingTasks.of(latest.run) : undefined,
      },
      this.o.links,
    );
    if (!latest.run) this.reportCreationFailure(memory, namespace, latest.name, desired);

    try {
      await this.converge(lineageId, memory, target, desired);
      memory.failures = 0;
      memory.reported = undefined;
      await this.persistPipelineId(runs, target, memory);
      this.scheduleCheck(lineageId, memory, latest.run);
    } catch (error) {
      this.handleFailure(lineageId, memory, target, error);
    }
  }

  private async api(target: ReportTarget): Promise<GitLabApi> {
    const token = await this.o.tokens.token(target.secret);
    const { host, secret } = target;
    const key = [host, secret.namespace, secret.name, secret.key].join("\u0000");
    const cached = this.apis.get(key);
    if (cached?.token === token) return cached.api;
    const api = new GitLabApi({
      host,
      token,
      gate: this.gate,
      timeoutMs: this.o.timeoutMs,
      observe: (method, status) => this.o.metrics.requests.inc({ method, status: String(status) }),
    });
    this.apis.set(key, { token, api });
    return api;
  }

  private async converge(
    lineageId: string,
    memory: Memory,
    target: ReportTarget,
    desired: DesiredStatus,
  ): Promise<void> {
    const api = await this.api(target);
    const key = [target.host, target.project, target.sha, target.ref ?? "", target.context].join("|");
    const now = this.clock();
    const remembered = memory.known?.key === key ? memory.known : undefined;
    const fresh = remembered !== undefined && now - remembered.at < this.o.resyncMs;
    if (fresh && converged(remembered.status, desired)) return;
    let actual = fresh
      ? remembered.status
      : await api.currentStatus(target.project, target.sha, { ref: target.ref, name: target.context });
    if (actual) memory.known = { key, status: actual, at: this.clock() };
    let writes = planWrites(actual, desired);
    if (writes.length === 0) return;
    // GitLab shows something else than what tekton-lineage last saw or wrote: another writer moved it.
    const drifted = remembered !== undefined && actual !== undefined && actual.id !== remembered.status.id;
    if (drifted || (remembered && actual && remembered.status.status !== actual.status)) {
      if (!this.mayRepair(memory, lineageId, target)) return;
      this.o.metrics.repairs.inc();
    }
    for (let round = 0; round < 2 && writes.length > 0; round++) {
      try {
        for (const write of writes) {
          actual = await api.postStatus(target.project, target.sha, {
            ...write,
            name: target.context,
            ref: target.ref,
            pipelineId: target.pipelineId ?? memory.known?.status.pipelineId,
          });
          memory.known = { key, status: actual, at: this.clock() };
          this.o.metrics.writes.inc({ state: write.state });
        }
        writes = [];
      } catch (error) {
        // "Cannot transition": GitLab shows something we did not expect; read it and plan again, once.
        if (!(error instanceof GitLabError && error.refusedTransition) || round > 0) throw error;
        actual = await api.currentStatus(target.project, target.sha, {
          ref: target.ref,
          name: target.context,
        });
        if (actual) memory.known = { key, status: actual, at: this.clock() };
        writes = planWrites(actual, desired);
      }
    }
    this.o.logger.debug(
      { lineage: lineageId, state: desired.state, attempt: desired.attempt },
      "GitLab status converged",
    );
  }

  /** At most maxRepairs per window against another writer; then stop contesting, and say so once. */
  private mayRepair(memory: Memory, lineageId: string, target: ReportTarget): boolean {
    const now = this.clock();
    memory.repairs = memory.repairs.filter((at) => now - at < this.o.repairWindowMs);
    if (memory.repairs.length < this.o.maxRepairs) {
      memory.repairs.push(now);
      return true;
    }
    const oldest = memory.repairs[0] ?? now;
    const until = oldest + this.o.repairWindowMs;
    if ((memory.contestedUntil ?? 0) < until) {
      memory.contestedUntil = until;
      const message = `another writer keeps changing GitLab status "${target.context}" on ${target.sha.slice(0, 8)}; not contesting it again for ${Math.round((until - now) / 1000)}s`;
      this.o.metrics.problems.inc({ kind: "contested" });
      this.o.logger.warn({ lineage: lineageId }, message);
    }
    this.work?.addAfter(lineageId, until - now + 100);
    return false;
  }

  /** Keeps GitLab's pipeline id on the runs, so later statuses join the merge request's pipeline. */
  private async persistPipelineId(runs: PipelineRun[], target: ReportTarget, memory: Memory): Promise<void> {
    const id = memory.known?.status.pipelineId;
    if (target.pipelineId || !id) return;
    for (const run of runs) {
      if (run.metadata.annotations?.[reconcilerKeys.gitlabPipelineId] === String(id)) continue;
      await this.o.actions.annotate(run, { [reconcilerKeys.gitlabPipelineId]: String(id) });
    }
  }

  private scheduleCheck(lineageId: string, memory: Memory, run: PipelineRun | undefined): void {
    const done = !run || isDone(run);
    if (!done) memory.checksAfterDone = 0;
    else if (memory.checksAfterDone >= 2) return;
    else memory.checksAfterDone += 1;
    this.work?.addAfter(lineageId, this.o.resyncMs * (0.9 + Math.random() * 0.2));
  }

  private reportCreationFailure(
    memory: Memory,
    namespace: string,
    name: string,
    desired: DesiredStatus,
  ): void {
    const message = desired.description;
    if (memory.creationReported === name) return;
    memory.creationReported = name;
    this.o.metrics.problems.inc({ kind: "creation-failed" });
    this.o.events.record({ namespace, objectName: name, reason: "CreationFailed", message, type: "Warning" });
  }

  private handleFailure(lineageId: string, memory: Memory, target: ReportTarget, error: unknown): void {
    if (error instanceof GitLabError && error.hostHeld) {
      // The host is down or asked to wait: wait on the host. Counting these as this lineage's failures
      // would grow its backoff with every trigger while the host is down, and hold its report back long
      // after the host is back.
      const parked = this.parked.get(target.host) ?? new Set<string>();
      parked.add(lineageId);
      this.parked.set(target.host, parked);
      const delay =
        Math.max(error.retryAfterMs ?? 0, this.gate.wait(target.host).ms) + 50 + Math.random() * 200;
      this.o.logger.debug(
        { lineage: lineageId, status: error.status, retryInMs: Math.round(delay) },
        `GitLab: ${error.message}`,
      );
      this.work?.addAfter(lineageId, delay);
      return;
    }
    memory.failures += 1;
    if (error instanceof GitLabError && error.retryable) {
      // A lock (409), a timeout or a server error on this request: back off for this lineage.
      const delay = Math.max(
        error.retryAfterMs ?? 0,
        backoffDelay(memory.failures, { baseMs: 500, capMs: 60_000 }),
      );
      this.o.logger.debug(
        { lineage: lineageId, status: error.status, retryInMs: Math.round(delay) },
        `GitLab: ${error.message}`,
      );
      this.work?.addAfter(lineageId, delay);
      return;
    }
    if (error instanceof GitLabError || error instanceof TokenError) {
      // A token GitLab refuses, or a Secret not there yet, is mended by rotating or creating the Secret:
      // read it again soon. Other refusals (a project or commit GitLab does not know) wait longer.
      const credentials = error instanceof TokenError || error.status === 401 || error.status === 403;
      if (credentials) this.o.tokens.forget(target.secret);
      const message = `cannot report to GitLab: ${error.message}`;
      if (memory.reported !== message) {
        memory.reported = message;
        this.o.metrics.problems.inc({ kind: error instanceof TokenError ? "config" : "refused" });
        this.o.logger.warn(
          { lineage: lineageId, status: error instanceof GitLabError ? error.status : undefined },
          message,
        );
      }
      this.work?.addAfter(
        lineageId,
        credentials ? backoffDelay(memory.failures, { baseMs: 5_000, capMs: 300_000 }) : 300_000,
      );
      return;
    }
    throw error;
  }
}
