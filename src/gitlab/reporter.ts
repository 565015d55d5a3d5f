import { Controller, type ReconcileResult, sooner } from "../core/controller.ts";
import type { Repository } from "../core/repository.ts";
import type { RunWriter } from "../core/run-actions.ts";
import { isDone, type PipelineRun, succeededCondition } from "../core/tekton.ts";
import { leaseLabels, pac, reconcilerKeys } from "../core/vocabulary.ts";
import type { EventSink } from "../kube/event-recorder.ts";
import type { ObjectCache } from "../kube/informer.ts";
import type { CachedLease } from "../kube/leases.ts";
import type { CounterRecord } from "../lineage/attempt-plan.ts";
import { attemptLeaseName, readRecord } from "../lineage/attempts.ts";
import { lineageIndex, lineageIndexValue, splitLineageKey } from "../lineage/genuine-runs.ts";
import type { Logger } from "../observability/logger.ts";
import type { CreationFailures } from "../pac/creation-failures.ts";
import type { ClientSource } from "./clients.ts";
import { converge, type KnownStatus } from "./converge.ts";
import { type DesiredStatus, desiredStatus, type LinkTemplates } from "./desired.ts";
import type { FailingTasks } from "./failing-task.ts";
import { latestToReport, lineageAttempts } from "./latest.ts";
import type { GitLabMetrics } from "./metrics.ts";
import { RepairBudget } from "./repairs.ts";
import { retryPlan } from "./retry.ts";
import { type ReportSettings, type ReportTarget, reportTarget } from "./target.ts";

const repositoryIndex = "namespace/repository";

export interface GitLabReporterOptions {
  runs: ObjectCache<PipelineRun>;
  /** Attempt counters (to see attempts admitted but never created). */
  counters: ObjectCache<CachedLease>;
  /** PaC's records of creates that failed: the only proof that an admitted attempt was never created. */
  creationFailures: Pick<CreationFailures, "find" | "onFailure" | "synced" | "whenSynced">;
  countersNamespace: string;
  repositories: ObjectCache<Repository>;
  clients: ClientSource;
  failingTasks: Pick<FailingTasks, "of">;
  writer: RunWriter;
  events: EventSink;
  metrics: GitLabMetrics;
  logger: Logger;
  settings: ReportSettings;
  links: LinkTemplates;
  /** How long an admitted attempt may take to appear before it counts as never created. */
  creationGraceMs: number;
  /** How often GitLab is read again for a lineage still in progress (drift from other writers). */
  resyncMs: number;
  /** Repairs of one lineage's status allowed per window before tekton-lineage stops contesting. */
  maxRepairs: number;
  repairWindowMs: number;
  clock?: () => number;
  random?: () => number;
}

/** What the reporter remembers of one lineage between reconciles. */
interface Memory {
  known?: KnownStatus;
  /** Since when (own clock) a newer attempt has had no run. */
  newerSince?: { attempt: number; since: number };
  /** Failures in a row, for backoff. */
  failures: number;
  /** The last problem logged, so a problem that persists is logged once. */
  reported?: string;
  /** Until when (own clock) tekton-lineage has said it stops contesting another writer. */
  contestedUntil?: number;
  /** The attempt whose failed creation was already recorded as an Event. */
  creationReported?: string;
  /** Resyncs left after the latest attempt finished (another writer may still move its status). */
  checksAfterDone: number;
}

/**
 * Keeps the GitLab commit status of every lineage on its latest attempt. Level-based: for each lineage
 * it computes what GitLab should show (desiredStatus), compares with what GitLab shows (remembered from
 * its own writes, read again every resyncMs), and posts only the difference (converge). Trouble with a
 * host is waited out on the host and work parked on it resumes when it answers; trouble with a request
 * backs off per lineage (retryPlan); repairs against another writer are bounded (RepairBudget).
 */
export class GitLabReporter {
  private readonly options: GitLabReporterOptions;
  private readonly memory = new Map<string, Memory>();
  /** Lineages waiting for a host that does not answer or asked to wait; resumed when it answers again. */
  private readonly parked = new Map<string, Set<string>>();
  private readonly repairs: RepairBudget;
  private readonly clock: () => number;
  private readonly random: () => number;
  readonly controller: Controller;

  constructor(options: GitLabReporterOptions) {
    this.options = options;
    this.clock = options.clock ?? (() => performance.now());
    this.random = options.random ?? Math.random;
    this.repairs = new RepairBudget(options.maxRepairs, options.repairWindowMs);
    this.controller = new Controller({
      name: "gitlab",
      reconcile: (id) => this.reconcile(id),
      caches: [options.runs, options.counters, options.creationFailures],
      initialKeys: () => options.runs.indexValues(lineageIndex),
      concurrency: 8,
      logger: options.logger,
    });
    options.runs.addIndex(lineageIndex, lineageIndexValue);
    options.runs.onChange((run) => {
      const key = lineageIndexValue(run);
      if (key) this.controller.enqueue(key);
    });
    options.counters.onChange((lease) => {
      const id = lease.metadata.labels?.[leaseLabels.lineageId];
      const namespace = lease.metadata.labels?.[leaseLabels.runNamespace];
      if (id && namespace) this.controller.enqueue(`${namespace}/${id}`);
    });
    // A failed create PaC records wakes the lineages whose last admission was that repository's.
    options.counters.addIndex(repositoryIndex, (lease) => {
      const subject = readRecord(lease).lastSubject;
      const repository = subject?.annotations[pac.repository];
      return subject && repository ? `${subject.namespace}/${repository}` : undefined;
    });
    options.creationFailures.onFailure((namespace, repository) => {
      for (const lease of options.counters.byIndex(repositoryIndex, `${namespace}/${repository}`)) {
        const id = lease.metadata.labels?.[leaseLabels.lineageId];
        const runNamespace = lease.metadata.labels?.[leaseLabels.runNamespace];
        if (id && runNamespace) this.controller.enqueue(`${runNamespace}/${id}`);
      }
    });
    options.clients.gate.onRecovered((host) => {
      const waiting = this.parked.get(host);
      this.parked.delete(host);
      for (const id of waiting ?? []) this.controller.enqueue(id);
    });
  }

  run(signal: AbortSignal): void {
    this.parked.clear();
    this.controller.run(signal);
  }

  private memoryOf(id: string): Memory {
    let memory = this.memory.get(id);
    if (!memory) {
      memory = { failures: 0, checksAfterDone: 0 };
      this.memory.set(id, memory);
    }
    return memory;
  }

  /** One lineage, keyed namespace/lineage id: a lineage never spans namespaces. */
  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, lineageId } = splitLineageKey(key);
    const runs = this.options.runs.byIndex(lineageIndex, key);
    const counter = this.options.counters.get(this.options.countersNamespace, attemptLeaseName(lineageId));
    const counted = counter?.metadata.labels?.[leaseLabels.runNamespace] === namespace;
    const attempts = lineageAttempts(runs, counter && counted ? readRecord(counter) : undefined, (r) =>
      this.corroborate(r),
    );
    const memory = this.memoryOf(key);
    // Since when a newer attempt has had no run (own clock), to give PaC's record of a failure time.
    if (!attempts.newer) memory.newerSince = undefined;
    else if (memory.newerSince?.attempt !== attempts.newer.attempt)
      memory.newerSince = { attempt: attempts.newer.attempt, since: this.clock() };
    const waited = memory.newerSince ? this.clock() - memory.newerSince.since : 0;
    const { latest, lookAgainMs: lookAgain } = latestToReport(attempts, waited, this.options.creationGraceMs);
    if (!latest) {
      if (lookAgain === undefined) {
        this.memory.delete(key);
        this.repairs.forget(key);
      }
      return { requeueAfterMs: lookAgain };
    }
    const repository = this.options.repositories.get(
      namespace,
      latest.reportFrom.metadata.annotations?.[pac.repository] ?? "",
    );
    const target = reportTarget(latest.run ?? latest.reportFrom, repository, this.options.settings);
    if ("refused" in target) {
      this.refusedHost(memory, key, namespace, repository?.metadata.name, target.refused);
      return { requeueAfterMs: lookAgain };
    }
    if ("skip" in target) {
      this.options.logger.debug({ lineage: lineageId, why: target.skip }, "not reporting to GitLab");
      return { requeueAfterMs: lookAgain };
    }
    const failed = latest.run && isDone(latest.run) && succeededCondition(latest.run)?.status === "False";
    const desired = desiredStatus(
      {
        attempt: latest.attempt,
        name: latest.name,
        namespace,
        lineageId,
        run: latest.run,
        creationError: latest.creationError,
        failingTask: failed && latest.run ? await this.options.failingTasks.of(latest.run) : undefined,
      },
      this.options.links,
    );
    if (!latest.run) this.reportCreationFailure(memory, namespace, latest.name, desired);

    try {
      const result = await converge({
        api: await this.options.clients.get(target.host, target.secret),
        target,
        desired,
        known: memory.known,
        remember: (known) => {
          memory.known = known;
        },
        now: this.clock,
        resyncMs: this.options.resyncMs,
        mayRepair: () => this.repairs.take(key, this.clock()),
      });
      memory.failures = 0;
      memory.reported = undefined;
      if (result.result === "contested") {
        const wait = this.contested(memory, key, target, result.until);
        return { requeueAfterMs: sooner(sooner(wait, this.nextCheck(memory, latest.run)), lookAgain) };
      }
      for (const write of result.writes) this.options.metrics.writes.inc({ state: write.state });
      if (result.repaired) this.options.metrics.repairs.inc();
      if (result.writes.length > 0)
        this.options.logger.debug(
          { lineage: lineageId, state: desired.state, attempt: desired.attempt },
          "GitLab status converged",
        );
      await this.persistPipelineId(runs, target, result.pipelineId);
      return { requeueAfterMs: sooner(this.nextCheck(memory, latest.run), lookAgain) };
    } catch (error) {
      return { requeueAfterMs: sooner(this.failed(key, memory, target, error), lookAgain) };
    }
  }

  /** Another writer keeps changing the status: say so once per window, and come back after it. */
  private contested(memory: Memory, key: string, target: ReportTarget, until: number): number {
    const now = this.clock();
    if ((memory.contestedUntil ?? 0) < until) {
      memory.contestedUntil = until;
      const message = `another writer keeps changing GitLab status "${target.context}" on ${target.sha.slice(0, 8)}; not contesting it again for ${Math.round((until - now) / 1000)}s`;
      this.options.metrics.problems.inc({ kind: "contested" });
      this.options.logger.warn({ lineage: key }, message);
    }
    return until - now + 100;
  }

  /** PaC's record that the counter's last attempt could not be created (the corroboration needed). */
  private corroborate(record: CounterRecord): { error: string } | undefined {
    const subject = record.lastSubject;
    const repository = subject?.annotations[pac.repository];
    const pipeline = subject?.annotations[pac.originalPrName];
    const admittedAt = Date.parse(subject?.admittedAt ?? "");
    if (!subject || !repository || !pipeline || !Number.isFinite(admittedAt)) return undefined;
    return this.options.creationFailures.find({
      namespace: subject.namespace,
      repository,
      pipeline,
      admittedAt,
    });
  }

  /** A host or token out of bounds: never contacted; said once, on the Repository (a tenant mends it there). */
  private refusedHost(
    memory: Memory,
    key: string,
    namespace: string,
    repository: string | undefined,
    why: string,
  ): void {
    if (memory.reported === why) return;
    memory.reported = why;
    this.options.metrics.problems.inc({ kind: "host-refused" });
    this.options.logger.warn({ lineage: key, repository }, `not reporting to GitLab: ${why}`);
    if (repository) {
      this.options.events.record({
        namespace,
        object: { apiVersion: "pipelinesascode.tekton.dev/v1alpha1", kind: "Repository" },
        objectName: repository,
        reason: "GitLabHostRefused",
        message: `tekton-lineage will not send a token there: ${why}`,
        type: "Warning",
      });
    }
  }

  /** Keeps GitLab's pipeline id on the runs, so later statuses join the merge request's pipeline. */
  private async persistPipelineId(
    runs: PipelineRun[],
    target: ReportTarget,
    id: number | undefined,
  ): Promise<void> {
    if (target.pipelineId || !id) return;
    for (const run of runs) {
      if (run.metadata.annotations?.[reconcilerKeys.gitlabPipelineId] === String(id)) continue;
      await this.options.writer.annotate(run, { [reconcilerKeys.gitlabPipelineId]: String(id) });
    }
  }

  /** While the latest attempt runs, GitLab is read again every resync; after it is done, twice more. */
  private nextCheck(memory: Memory, run: PipelineRun | undefined): number | undefined {
    const done = !run || isDone(run);
    if (!done) memory.checksAfterDone = 0;
    else if (memory.checksAfterDone >= 2) return undefined;
    else memory.checksAfterDone += 1;
    return this.options.resyncMs * (0.9 + this.random() * 0.2);
  }

  private reportCreationFailure(
    memory: Memory,
    namespace: string,
    name: string,
    desired: DesiredStatus,
  ): void {
    if (memory.creationReported === name) return;
    memory.creationReported = name;
    this.options.metrics.problems.inc({ kind: "creation-failed" });
    this.options.events.record({
      namespace,
      objectName: name,
      reason: "CreationFailed",
      message: desired.description,
      type: "Warning",
    });
  }

  /** When to try again after a failed report (see retryPlan); problems a person must mend are logged once. */
  private failed(key: string, memory: Memory, target: ReportTarget, error: unknown): number {
    const hostWaitMs = this.options.clients.gate.wait(target.host).ms;
    const plan = retryPlan(error, memory.failures + 1, hostWaitMs, this.random);
    if (plan.kind === "unexpected") throw error;
    if (plan.kind === "host") {
      const parked = this.parked.get(target.host) ?? new Set<string>();
      parked.add(key);
      this.parked.set(target.host, parked);
    } else memory.failures += 1;
    if (plan.kind === "refused") {
      if (plan.forgetToken) this.options.clients.forget(target.secret);
      if (memory.reported !== plan.message) {
        memory.reported = plan.message;
        this.options.metrics.problems.inc({ kind: plan.problem });
        this.options.logger.warn({ lineage: key }, plan.message);
      }
    } else {
      this.options.logger.debug(
        { lineage: key, retryInMs: Math.round(plan.delayMs) },
        `GitLab: ${(error as Error).message}`,
      );
    }
    return plan.delayMs;
  }
}
