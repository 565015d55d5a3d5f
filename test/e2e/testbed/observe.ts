import type { KubeConfig } from "@kubernetes/client-node";
import {
  isDone,
  type PipelineRun,
  pipelineRunResource,
  succeededCondition,
} from "../../../src/core/tekton.ts";
import { customResourceSource } from "../../../src/kube/custom-objects.ts";
import { Informer } from "../../../src/kube/informer.ts";
import { silentLogger } from "../../../src/observability/logger.ts";

/**
 * Watches a namespace's PipelineRuns as Tekton moves them, from one watch stream (so in etcd's order):
 * which ran at once per repository, and each run as last seen.
 */
export class RunObserver {
  private readonly informer: Informer<PipelineRun>;
  private readonly running = new Map<string, Set<string>>();
  /** The most runs of a repository seen running at once. */
  readonly mostAtOnce = new Map<string, number>();
  /** When (own clock) each run was first seen done, by name. */
  readonly doneAt = new Map<string, number>();

  constructor(kubeConfig: KubeConfig, namespace: string) {
    this.informer = new Informer<PipelineRun>({
      name: "testbed-runs",
      kubeConfig,
      source: customResourceSource(kubeConfig, pipelineRunResource),
      namespaces: [namespace],
      transform: (raw) => raw as PipelineRun,
      resyncMs: 60_000,
      logger: silentLogger(),
    });
    this.informer.onChange((run, event) => {
      const repository = run.metadata.annotations?.["pipelinesascode.tekton.dev/repository"] ?? "";
      const now = this.running.get(repository) ?? new Set<string>();
      this.running.set(repository, now);
      const name = run.metadata.name ?? "";
      const started = run.status?.startTime !== undefined && run.spec?.status !== "PipelineRunPending";
      if (event !== "deleted" && started && !isDone(run)) now.add(name);
      else now.delete(name);
      if (isDone(run) && !this.doneAt.has(name)) this.doneAt.set(name, Date.now());
      this.mostAtOnce.set(repository, Math.max(this.mostAtOnce.get(repository) ?? 0, now.size));
    });
  }

  async start(): Promise<this> {
    this.informer.start();
    await this.informer.whenSynced();
    return this;
  }

  stop(): void {
    this.informer.stop();
  }

  /** The runs of one commit, newest attempt last. */
  runsOf(sha: string): PipelineRun[] {
    return this.informer
      .list()
      .filter((r) => r.metadata.annotations?.["pipelinesascode.tekton.dev/sha"] === sha)
      .sort((a, b) => attempt(a) - attempt(b));
  }

  reasonOf(run: PipelineRun | undefined): string | undefined {
    return run ? succeededCondition(run)?.reason : undefined;
  }
}

const attempt = (run: PipelineRun) => Number(run.metadata.annotations?.["tekton-lineage.io/attempt"] ?? 0);
