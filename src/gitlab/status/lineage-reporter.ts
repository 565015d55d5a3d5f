import { Controller, type ReconcileResult, sooner } from "../../core/controller.ts";
import { pacWillReport } from "../../core/pac-report.ts";
import type { Repository } from "../../core/repository.ts";
import type { RunWriter } from "../../core/run-actions.ts";
import type { PipelineRun } from "../../core/tekton.ts";
import { pac } from "../../core/vocabulary.ts";
import type { EventSink } from "../../kube/event-recorder.ts";
import type { ObjectCache } from "../../kube/informer.ts";
import type { CachedLease } from "../../kube/leases.ts";
import { lineageIndexValue } from "../../lineage/genuine-runs.ts";
import type { Logger } from "../../observability/logger.ts";
import type { PacConfig } from "../../pac/config.ts";
import type { CreationFailures } from "../../pac/creation-failures.ts";
import type { ClientSource } from "../client/gitlab-clients.ts";
import type { GitLabMetrics } from "../metrics.ts";
import { ReportTrouble } from "../report-trouble.ts";
import { type BareStatusBoard, bareEntryOf } from "./bare-entry.ts";
import { converge, RepairBudget, type RepairKind } from "./converge.ts";
import { type DesiredStatus, lineageDesiredStatus, untilPacHasSpoken } from "./desired.ts";
import type { FailingTasks } from "./failing-tasks.ts";
import { type LatestAttempt, latestToReport, newestAdmitted } from "./latest.ts";
import {
  type LineageMemory,
  newMemory,
  nextReadAfterRunEnded,
  nextResync,
  noticeCreationFailure,
  noticeEndedRuns,
  quietKey,
} from "./lineage-memory.ts";
import { type LineageView, LineageViews } from "./lineage-view.ts";
import { type LinkTemplates, runLinks } from "./links.ts";
import { reportsToTakeOver, takeOverReports } from "./pac-reports.ts";
import { ProjectCheck } from "./project-check.ts";
import { QuietLineages, type QuietMarks } from "./quiet-marks.ts";
import { onFirstProject, persistPipelineId, type ReportSettings, reportTarget } from "./target.ts";

export interface LineageReporterOptions {
  runs: ObjectCache<PipelineRun>;
  /** Attempt counters (to see attempts admitted but never created). */
  counters: ObjectCache<CachedLease>;
  /** PaC's records of creates that failed: the only proof that an admitted attempt was never created. */
  creationFailures: Pick<CreationFailures, "find" | "of" | "onFailure" | "synced" | "whenSynced">;
  countersNamespace: string;
  repositories: ObjectCache<Repository>;
  /** PaC's global Repository, whose git provider a Repository inherits where it sets none (as PaC merges). */
  globalRepository?: () => Repository | undefined;
  clients: ClientSource;
  failingTasks: Pick<FailingTasks, "of">;
  writer: RunWriter;
  events: EventSink;
  metrics: GitLabMetrics;
  logger: Logger;
  /** Where to report; `application` undefined: PaC's application name. */
  settings: Omit<ReportSettings, "application"> & { application?: string };
  links: LinkTemplates;
  /** PaC's own settings (its ConfigMap), as they are now. */
  pacConfig: () => PacConfig;
  /** How long an admitted attempt may take to appear before it counts as never created. */
  creationGraceMs: number;
  /** How often GitLab is read again for a lineage still in progress (drift from other writers). */
  resyncMs: number;
  /** Repairs of one lineage's status allowed per window before tekton-lineage stops contesting. */
  maxRepairs: number;
  repairWindowMs: number;
  clock?: () => number;
  /** The wall clock, to compare with the times PaC and GitLab record. */
  wallClock?: () => number;
  random?: () => number;
  /** Told what each lineage whose create failed contributes to its commit's bare status (PaC's). */
  bareStatuses: BareStatusBoard;
  /** Where quiet marks outlive the process (the attempt counters); none: kept in memory only. */
  quietMarks?: QuietMarks;
}

/** Repairs allowed per window against reports of older attempts (PaC's watcher: one per run that ends). */
const olderAttemptRepairs = 20;

/**
 * Keeps the GitLab commit status of every lineage on its latest attempt. Level-based: for each lineage
 * it computes what GitLab should show (desiredStatus), compares with what GitLab shows (remembered from
 * its own writes, read again every resyncMs while the latest attempt runs and twice after, and when PaC
 * may have reported an ended run), and posts only the difference (converge); then the lineage is quiet
 * (QuietLineages) until it changes. Lineages whose create failed also tell `bareStatuses` (the PAC failure
 * corrector, gitlab/pac-failure/) what they contribute to PaC's bare failure status of their commit. Trouble is handled by ReportTrouble; repairs
 * against another writer are bounded (RepairBudget), reports of older attempts always lose.
 */
export class LineageReporter {
  private readonly options: LineageReporterOptions;
  private readonly views: LineageViews;
  private readonly memory = new Map<string, LineageMemory>();
  private readonly repairs: RepairBudget;
  private readonly olderAttemptRepairs: RepairBudget;
  private readonly trouble: ReportTrouble;
  /** Where a token may write, as the Repository and GitLab say (never the run's annotations alone). */
  private readonly projectCheck: ProjectCheck;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly quiet: QuietLineages;
  readonly controller: Controller;

  constructor(options: LineageReporterOptions) {
    this.options = options;
    this.clock = options.clock ?? (() => performance.now());
    this.random = options.random ?? Math.random;
    this.repairs = new RepairBudget(() => options.maxRepairs, options.repairWindowMs);
    this.projectCheck = new ProjectCheck(options.wallClock);
    this.olderAttemptRepairs = new RepairBudget(olderAttemptRepairs, options.repairWindowMs);
    this.quiet = new QuietLineages({
      marks: options.quietMarks,
      counters: options.counters,
      countersNamespace: options.countersNamespace,
      gauge: options.metrics.quietLineages,
      logger: options.logger,
    });
    this.views = new LineageViews({
      runs: options.runs,
      counters: options.counters,
      countersNamespace: options.countersNamespace,
      failures: options.creationFailures,
    });
    this.controller = new Controller({
      name: "gitlab",
      reconcile: (key) => this.reconcile(key),
      caches: [options.runs, options.counters, options.creationFailures],
      initialKeys: () => this.views.keys(),
      concurrency: 8,
      logger: options.logger,
    });
    const troubleOptions = { ...options, clock: this.clock, random: this.random };
    this.trouble = new ReportTrouble(troubleOptions, (key) => this.controller.enqueue(key));
    options.runs.onChange((run, event) => {
      const key = lineageIndexValue(run);
      if (key) this.controller.enqueueFor(key, event);
    });
    options.counters.onChange((lease, event) => {
      const key = this.views.keyOfCounter(lease);
      if (key) this.controller.enqueueFor(key, event);
    });
    // A failed create PaC records wakes the lineages whose last admission was that repository's.
    options.creationFailures.onFailure((namespace, repository, change) => {
      for (const key of this.views.keysOfRepository(namespace, repository))
        this.controller.enqueueFor(key, change);
    });
  }

  run(signal: AbortSignal): void {
    this.trouble.clear();
    // A new term or leadership: what is remembered of lineages now out of sight (buckets given up) goes —
    // the informer drops their runs without a word, so no reconcile would ever forget them.
    const visible = new Set(this.views.keys());
    for (const [key, memory] of this.memory) if (!visible.has(key)) this.forget(key, memory.bareCommit ?? "");
    this.controller.run(signal);
  }

  private memoryOf(key: string): LineageMemory {
    const memory = this.memory.get(key) ?? newMemory();
    this.memory.set(key, memory);
    return memory;
  }

  /** One lineage, keyed namespace/lineage id: a lineage never spans namespaces. */
  async reconcile(key: string): Promise<ReconcileResult> {
    const view = this.views.read(key);
    const taken = () => this.options.metrics.reportsTakenOver.inc();
    await takeOverReports(this.options.writer, reportsToTakeOver(view), taken);
    const owner = this.views.statusOwnerOf(view);
    if (owner !== key) {
      // Another lineage of this pipeline and commit owns the shared status: PaC's reports of this one
      // would land on it, so they are taken too; its own status is the owner's to write.
      const why = `another lineage (${owner}) owns the status of this pipeline and commit`;
      const reports = view.runs.filter(pacWillReport).map((run) => ({ run, why }));
      await takeOverReports(this.options.writer, reports, taken);
      return { requeueAfterMs: this.options.resyncMs };
    }
    const memory = this.memoryOf(key);
    const now = this.clock();
    // Since when a newer attempt has had no run (own clock), to give PaC's record of a failure time.
    const newer = view.attempts.newer;
    if (!newer) memory.newerSince = undefined;
    else if (memory.newerSince?.attempt !== newer.attempt)
      memory.newerSince = { attempt: newer.attempt, since: now };
    const waited = memory.newerSince ? now - memory.newerSince.since : 0;
    const { latest, lookAgainMs } = latestToReport(view.attempts, waited, this.options.creationGraceMs);
    if (!latest) {
      if (lookAgainMs === undefined) this.forget(key, view.commit);
      return { requeueAfterMs: lookAgainMs };
    }
    const settings = { ...this.options.settings, application: this.application() };
    const repositoryName = latest.reportFrom.metadata.annotations?.[pac.repository] ?? "";
    const repository = this.options.repositories.get(view.namespace, repositoryName);
    const target = reportTarget(
      latest.run ?? latest.reportFrom,
      repository,
      settings,
      this.options.globalRepository?.(),
    );
    if ("refused" in target) {
      this.trouble.refusedHost(memory, key, view.namespace, repository?.metadata.name, target.refused);
      return { requeueAfterMs: lookAgainMs };
    }
    if ("skip" in target) {
      this.options.logger.debug({ lineage: key, why: target.skip }, "not reporting to GitLab");
      return { requeueAfterMs: lookAgainMs };
    }
    // PaC posts its own first status of each run it creates right after the create: a write of
    // tekton-lineage's to the same commit meanwhile would take GitLab's per-commit lock from it (409), and
    // PaC does not retry. This lineage comes back when its own run is patched, or when the wait is over.
    const wallNow = (this.options.wallClock ?? Date.now)();
    const commitRuns = view.commit ? this.views.runsOfCommit(view.commit) : view.runs;
    const waits = commitRuns.map((run) => untilPacHasSpoken(run, wallNow)).filter((w) => w !== undefined);
    if (waits.length > 0) return { requeueAfterMs: sooner(Math.max(...waits), lookAgainMs) };
    const desired = await this.desired(view, latest);
    // A newer attempt was admitted and, within the grace, has neither appeared nor been proven never
    // created: the latest attempt is not known to have succeeded, so no success is written meanwhile.
    const newerUnresolved = view.attempts.newer && lookAgainMs !== undefined;
    if (desired.state === "success" && newerUnresolved) return { requeueAfterMs: lookAgainMs };
    if (!latest.run) this.trouble.creationFailed(memory, view.namespace, latest.name, desired.description);
    if (!latest.run) noticeCreationFailure(memory, latest.creationFailedAt, this.clocks());
    const newestAttempt = (newestAdmitted(view.attempts) ?? latest).attempt;
    noticeEndedRuns(memory, view.runs, newestAttempt, now);
    // A lineage whose creates failed has a part in its commit's bare status, which the corrector keeps in
    // memory only: its mark alone does not make it quiet in a process that has not reported it.
    const bareEntry = bareEntryOf(view, latest, desired, target, repositoryName);
    const quiet = quietKey(view, newestAttempt, desired, target, latest.creationFailedAt, bareEntry?.part);
    if (this.quiet.holds(memory, view, quiet, bareEntry === undefined))
      return { requeueAfterMs: lookAgainMs };
    this.quiet.end(memory);
    const later = (next: number | undefined) =>
      sooner(sooner(next, nextReadAfterRunEnded(memory, this.clock())), lookAgainMs);
    try {
      const api = await this.options.clients.get(target.host, target.secret);
      const subject = latest.run ?? latest.reportFrom;
      const verdict = await this.projectCheck.check(api, target.host, repository, subject);
      if ("refused" in verdict) {
        this.options.bareStatuses.update(view.commit, key, undefined);
        memory.bareCommit = undefined;
        this.trouble.refusedTarget(memory, key, view.namespace, subject.metadata.name ?? "", verdict.refused);
        return { requeueAfterMs: lookAgainMs };
      }
      const checked = { ...target, projects: verdict.projects };
      // The same part, now where GitLab said the token may write.
      const posted = bareEntry && { ...bareEntry, target: checked };
      this.options.bareStatuses.update(view.commit, key, posted);
      memory.bareCommit = posted ? view.commit : undefined;
      const { project, result } = await onFirstProject(checked.projects, memory.project, (project) =>
        converge({
          api,
          address: {
            host: target.host,
            project,
            sha: target.sha,
            name: target.context,
            pipelineId: target.pipelineId,
          },
          desired,
          known: memory.known,
          remember: (known) => {
            memory.known = known;
          },
          now: this.clock,
          resyncMs: this.options.resyncMs,
          mayRepair: (kind: RepairKind) =>
            (kind === "older-attempt" ? this.olderAttemptRepairs : this.repairs).take(key, this.clock()),
        }),
      );
      memory.project = project;
      memory.reported = undefined;
      if (result.result === "contested") {
        const what = `"${target.context}" on ${target.sha.slice(0, 8)}`;
        const wait = this.trouble.contested(memory, key, what, result.until);
        return { requeueAfterMs: later(sooner(wait, this.nextResync(memory, latest))) };
      }
      for (const write of result.writes) this.options.metrics.writes.inc({ state: write.state });
      if (result.repaired) this.options.metrics.repairs.inc();
      if (result.writes.length > 0)
        this.options.logger.debug(
          { lineage: key, state: desired.state, attempt: desired.attempt },
          "GitLab status converged",
        );
      if (!target.pipelineId) await persistPipelineId(this.options.writer, view.runs, result.pipelineId);
      const next = later(this.nextResync(memory, latest));
      if (next === undefined) await this.quiet.settle(memory, view, quiet);
      return { requeueAfterMs: next };
    } catch (error) {
      const next = this.trouble.failed(key, memory, target, error);
      return { ...next, requeueAfterMs: later(next.requeueAfterMs) };
    }
  }

  /** The application name statuses start with: --gitlab-application, else PaC's own. */
  private application(): string {
    return this.options.settings.application || this.options.pacConfig().applicationName;
  }

  private desired(view: LineageView, latest: LatestAttempt): Promise<DesiredStatus> {
    return lineageDesiredStatus(
      view,
      latest,
      runLinks(this.options.links, this.options.pacConfig),
      this.options.failingTasks,
    );
  }

  private forget(key: string, commit: string): void {
    const memory = this.memory.get(key);
    if (memory) this.quiet.end(memory);
    this.memory.delete(key);
    this.repairs.forget(key);
    this.olderAttemptRepairs.forget(key);
    this.options.bareStatuses.update(commit, key, undefined);
  }

  private nextResync(memory: LineageMemory, latest: LatestAttempt): number | undefined {
    return nextResync(memory, latest, this.options.resyncMs, this.random, this.clocks());
  }

  /** The own clock (intervals) and the wall clock (to compare with the cluster's and GitLab's times). */
  private clocks(): { now: number; wallNow: number } {
    return { now: this.clock(), wallNow: (this.options.wallClock ?? Date.now)() };
  }
}
