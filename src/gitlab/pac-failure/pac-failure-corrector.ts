import { Controller, type ReconcileResult } from "../../core/controller.ts";
import { backoffDelay } from "../../kube/backoff.ts";
import type { EventSink } from "../../kube/event-recorder.ts";
import type { Logger } from "../../observability/logger.ts";
import { GitLabError, isOpen, type StatusApi, type StatusWrite } from "../client/api.ts";
import type { ClientSource } from "../client/gitlab-clients.ts";
import type { GitLabMetrics } from "../metrics.ts";
import { ReportTrouble, type TroubleMemory } from "../report-trouble.ts";
import type { BareEntry, BareStatusBoard } from "../status/bare-entry.ts";
import { onFirstProject } from "../status/target.ts";
import { writesAfterRefusal } from "../status/writes.ts";
import { bareStatusesToCorrect, type Correction, failureTimes, pacWriteWindowMs } from "./bare-status.ts";

export interface PacFailureCorrectorOptions {
  clients: ClientSource;
  events: EventSink;
  metrics: GitLabMetrics;
  logger: Logger;
  resyncMs: number;
  clock?: () => number;
  /** The wall clock (PaC's failures carry the cluster's time). */
  wallClock?: () => number;
  random?: () => number;
}

/** What the corrector remembers of one commit between reconciles. */
interface CommitMemory extends TroubleMemory {
  /** The project that took the last correction (source or target of the merge request). */
  project?: string;
  /** Looks taken for PaC's bare status since its failure was seen (1, 2, 4 … s apart). */
  checksAfterDone: number;
}

/**
 * Corrects PaC's bare failure status of each commit (bare-status.ts) from what the lineage reporter
 * tells it: for every commit (namespace/repository/sha), the lineages whose create failed, with their
 * latest status. Reads the commit's statuses of the bare name once per change and writes only where a
 * status tied to a failed create shows something else.
 */
export class PacFailureCorrector implements BareStatusBoard {
  private readonly options: PacFailureCorrectorOptions;
  private readonly trouble: ReportTrouble;
  private readonly board = new Map<string, Map<string, { entry: BareEntry; text: string }>>();
  private readonly memory = new Map<string, CommitMemory>();
  readonly controller: Controller;

  constructor(options: PacFailureCorrectorOptions) {
    this.options = options;
    const trouble = {
      ...options,
      clock: options.clock ?? (() => performance.now()),
      random: options.random ?? Math.random,
    };
    this.trouble = new ReportTrouble(trouble, (commit) => this.controller.enqueue(commit));
    this.controller = new Controller({
      name: "gitlab-pac-failures",
      reconcile: (commit) => this.reconcile(commit),
      caches: [],
      initialKeys: () => this.board.keys(),
      concurrency: 4,
      logger: options.logger,
    });
  }

  run(signal: AbortSignal): void {
    this.trouble.clear();
    this.controller.run(signal);
  }

  /** A lineage's part of its commit's bare status (undefined: none); a change wakes the commit. */
  update(commit: string, lineage: string, entry: BareEntry | undefined): void {
    if (!commit) return;
    const entries = this.board.get(commit) ?? new Map<string, { entry: BareEntry; text: string }>();
    const text = entry ? JSON.stringify(entry) : undefined;
    if (entries.get(lineage)?.text === text) return;
    if (entry && text) entries.set(lineage, { entry, text });
    else entries.delete(lineage);
    if (entries.size > 0) this.board.set(commit, entries);
    else {
      this.board.delete(commit);
      this.memory.delete(commit);
    }
    if (entry) this.controller.enqueue(commit);
  }

  async reconcile(commit: string): Promise<ReconcileResult> {
    const entries = [...(this.board.get(commit)?.values() ?? [])].map((e) => e.entry);
    const first = entries[0];
    if (!first) return {};
    const { target } = first;
    const memory = this.memory.get(commit) ?? { checksAfterDone: 0 };
    this.memory.set(commit, memory);
    try {
      const api = await this.options.clients.get(target.host, target.secret);
      const { project, result } = await onFirstProject(
        target.projects,
        memory.project,
        async (project) => {
          const jobs = await api.statuses(project, target.sha, { name: target.application, all: true });
          const tied = bareStatusesToCorrect(
            entries.map((e) => e.part),
            jobs,
            target.application,
          );
          for (const correction of tied) {
            if (correction.writes.length === 0) continue;
            if (!(await this.write(api, project, first, correction))) return "again" as const;
          }
          return tied.length > 0 ? ("done" as const) : ("none" as const);
        },
        (found) => found === "none",
      );
      memory.project = project;
      memory.reported = undefined;
      if (result === "again") return { requeueAfterMs: 1000 };
      if (result === "none") return { requeueAfterMs: this.untilPacPosts(memory, entries) };
      memory.checksAfterDone = 0;
      const open = entries.some(
        (e) => e.part.latest.state === "running" || e.part.latest.state === "pending",
      );
      return { requeueAfterMs: open ? this.options.resyncMs : undefined };
    } catch (error) {
      return this.trouble.failed(commit, memory, target, error);
    }
  }

  /**
   * No status of the commit is tied to the failure yet: PaC posts it after recording its Event, which may
   * reach tekton-lineage first. Look again, 1, 2, 4 … s later, while PaC may still post it.
   */
  private untilPacPosts(memory: CommitMemory, entries: readonly BareEntry[]): number | undefined {
    const last = Math.max(...entries.flatMap((e) => failureTimes(e.part)));
    const delay = backoffDelay(memory.checksAfterDone + 1, { baseMs: 1000, capMs: 60_000, jitter: 0 });
    const now = (this.options.wallClock ?? Date.now)();
    if (!Number.isFinite(last) || now + delay > last + pacWriteWindowMs) return undefined;
    memory.checksAfterDone += 1;
    return delay;
  }

  /** Writes one correction; false when GitLab moved meanwhile and the commit should be read again. */
  private async write(
    api: StatusApi,
    project: string,
    entry: BareEntry,
    correction: Correction,
  ): Promise<boolean> {
    const { target } = entry;
    const post = async (write: StatusWrite) => {
      await api.postStatus(project, target.sha, {
        ...write,
        name: target.application,
        pipelineId: correction.job.pipelineId,
      });
      this.options.metrics.writes.inc({ state: write.state });
    };
    for (const write of correction.writes) {
      try {
        await post(write);
      } catch (error) {
        if (!(error instanceof GitLabError && error.refusedTransition)) throw error;
        // Someone moved an open status meanwhile: read it again shortly.
        if (isOpen(correction.job.status)) return false;
        for (const retry of writesAfterRefusal(correction.job, [write], correction.desired))
          await post(retry);
      }
    }
    if (correction.takeover) {
      this.options.metrics.repairs.inc();
      this.trouble.corrected(
        entry.namespace,
        entry.repository,
        `Pipelines-as-Code's status "${target.application}" of commit ${target.sha.slice(0, 8)} reported a PipelineRun that could not be created; it now shows: ${correction.desired.description}`,
      );
    }
    return true;
  }
}
