import type { KubeConfig } from "@kubernetes/client-node";
import type { PipelineRun } from "../../../src/core/tekton.ts";
import { isDone, succeededCondition } from "../../../src/core/tekton.ts";
import type { PipelineView } from "../../fakes/gitlab/model.ts";
import type { FakeGitLab, RecordedRequest } from "../../fakes/gitlab/server.ts";
import { pipelineRuns } from "./pipelineruns.ts";

/** One moment a merge request showed `success` although some pipeline's latest attempt had not succeeded. */
export interface FalseGreen {
  at: number;
  pipeline: string;
  latest: string;
  shown: string[];
}

/** An attempt known never to have been created (its create failed), for pipelines of the watched commit. */
export interface NeverCreated {
  pipeline: string;
  attempt: number;
}

export interface GreenWatchOptions {
  gitlab: FakeGitLab;
  kubeConfig: KubeConfig;
  namespace: string;
  projectId: number;
  sha: string;
  intervalMs?: number;
  /** Attempts whose create failed: they count as the latest of their pipeline, and never succeeded. */
  neverCreated?: () => readonly NeverCreated[];
  /** Reads what the merge request shows (default: the fake's model; the real-PaC bed reads over HTTP). */
  pipelines?: () => Promise<PipelineView[]>;
}

const attemptKey = "tekton-lineage.io/attempt";
const pipelineKey = "pipelinesascode.tekton.dev/original-prname";
const shaKey = "pipelinesascode.tekton.dev/sha";

const attemptOf = (run: PipelineRun) => Number(run.metadata.annotations?.[attemptKey] ?? 0);
const admittedAt = (run: PipelineRun) =>
  Date.parse(run.metadata.annotations?.["tekton-lineage.io/admitted-at"] ?? "") || 0;
const succeeded = (run: PipelineRun | undefined) =>
  run !== undefined && isDone(run) && succeededCondition(run)?.status === "True";

/**
 * Samples what the merge request of one commit shows every `intervalMs` (100 ms) and records every
 * moment it showed `success` while the latest attempt of some pipeline of the commit had not succeeded.
 *
 * Each sample reads the commit's runs (c1), then GitLab (g), then the runs again (c2), and judges only what
 * is certain whatever the timing between those reads: for a pipeline whose latest attempt at c1 has not
 * succeeded at c2, and none of whose newer attempts (created between c1 and c2) has succeeded at c2, the
 * latest attempt at g had not succeeded either (success is final) — so a `success` shown at g is false.
 */
export class GreenWatch {
  readonly falseGreens: FalseGreen[] = [];
  samples = 0;
  /** Samples that showed success (to tell a scenario that never turned green from one that was judged). */
  greens = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private readonly options: GreenWatchOptions;

  constructor(options: GreenWatchOptions) {
    this.options = options;
  }

  start(): this {
    const tick = () => {
      this.running = this.sample().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, this.options.intervalMs ?? 100);
      });
    };
    this.timer = setTimeout(tick, 0);
    return this;
  }

  async stop(): Promise<this> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    return this;
  }

  private async runsByPipeline(): Promise<Map<string, PipelineRun[]>> {
    const all = await pipelineRuns(this.options.kubeConfig).list(this.options.namespace);
    const byPipeline = new Map<string, PipelineRun[]>();
    for (const run of all) {
      if (run.metadata.annotations?.[shaKey] !== this.options.sha) continue;
      const pipeline = run.metadata.annotations?.[pipelineKey] ?? "";
      byPipeline.set(pipeline, [...(byPipeline.get(pipeline) ?? []), run]);
    }
    return byPipeline;
  }

  private async shown(): Promise<PipelineView[]> {
    if (this.options.pipelines) return this.options.pipelines();
    return this.options.gitlab.model.pipelinesOf(String(this.options.projectId), this.options.sha);
  }

  private async sample(): Promise<void> {
    const before = await this.runsByPipeline();
    const failedBefore = this.options.neverCreated?.() ?? [];
    const at = Date.now();
    const pipelines = await this.shown();
    const after = await this.runsByPipeline();
    this.samples += 1;
    const green = pipelines.filter((p) => p.status === "success");
    if (green.length === 0) return;
    this.greens += 1;
    const names = new Set([...before.keys(), ...failedBefore.map((f) => f.pipeline)]);
    for (const pipeline of names) {
      const runs = before.get(pipeline) ?? [];
      // The latest attempt of a pipeline is the one admitted last (lineages of one commit — a push and a
      // merge request — share its status), unless an attempt whose create failed came after every run.
      const newestRun = runs.reduce<PipelineRun | undefined>(
        (best, r) => (!best || admittedAt(r) > admittedAt(best) ? r : best),
        undefined,
      );
      const newestFailed = Math.max(
        0,
        ...failedBefore.filter((f) => f.pipeline === pipeline).map((f) => f.attempt),
      );
      const latestAttempt = Math.max(newestRun ? attemptOf(newestRun) : 0, newestFailed);
      const later = after.get(pipeline) ?? [];
      const latestNow = later.find(
        (r) => r.metadata.name === newestRun?.metadata.name && attemptOf(r) === latestAttempt,
      );
      const latestSucceeded =
        newestFailed < latestAttempt || newestFailed === 0 ? succeeded(latestNow) : false;
      const seen = new Set(runs.map((r) => r.metadata.name));
      const newerSucceeded = later.some(
        (r) =>
          succeeded(r) &&
          (!seen.has(r.metadata.name) || (newestRun !== undefined && admittedAt(r) > admittedAt(newestRun))),
      );
      if (latestSucceeded || newerSucceeded) continue;
      this.falseGreens.push({
        at,
        pipeline,
        latest: `attempt ${latestAttempt}${latestNow ? ` (${latestNow.metadata.name}, ${succeededCondition(latestNow)?.reason ?? "no condition"})` : " (never created)"}`,
        shown: green.flatMap((p) =>
          p.jobs.filter((j) => !j.retried).map((j) => `${j.name}: ${j.status} "${j.description ?? ""}"`),
        ),
      });
    }
  }
}

/**
 * PaC's status posts for a commit that GitLab refused (400: a refused transition, say) right after
 * tekton-lineage wrote that status: each one a merge-request note on PaC before v0.41, which tekton-lineage
 * would have caused. A post is tekton-lineage's when its words are ("attempt N …"); the last successful
 * post of the same name before the refused one tells who left the status in the state PaC could not follow.
 * A post GitLab refuses whatever it showed (a state it does not know: PaC v0.37's "cancelled") is not
 * a refused transition.
 */
const gitlabStates = ["pending", "running", "success", "failed", "canceled", "skipped"];

export function refusedAfterTektonLineage(gitlab: FakeGitLab, sha: string): RecordedRequest[] {
  const lastWriter = new Map<string, "tekton-lineage" | "other">();
  const blamed: RecordedRequest[] = [];
  for (const request of gitlab.requests) {
    if (request.method !== "POST" || !request.path.endsWith(`/statuses/${sha}`)) continue;
    const body = (request.body ?? {}) as {
      name?: string;
      context?: string;
      description?: string;
      state?: string;
    };
    const name = body.name ?? body.context ?? "default";
    const writer = /^attempt \d+/.test(body.description ?? "") ? "tekton-lineage" : "other";
    if (request.status === 201) lastWriter.set(name, writer);
    else if (
      request.status === 400 &&
      gitlabStates.includes(body.state ?? "") &&
      writer === "other" &&
      lastWriter.get(name) === "tekton-lineage"
    )
      blamed.push(request);
  }
  return blamed;
}
