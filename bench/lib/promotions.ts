import {
  type CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { isDone, type PipelineRun, pipelineRunResource, trimPipelineRun } from "../../src/core/tekton.ts";
import { customResourceSource } from "../../src/kube/custom-objects.ts";
import { Informer } from "../../src/kube/informer.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { inParallel } from "../../test/e2e/support/load.ts";

/** A cache of one namespace's runs as tekton-lineage caches them (trimmed), for a bench's own use. */
export function runInformer(kc: KubeConfig, namespace: string, name: string): Informer<PipelineRun> {
  return new Informer<PipelineRun>({
    name,
    kubeConfig: kc,
    source: customResourceSource(kc, pipelineRunResource),
    namespaces: [namespace],
    transform: trimPipelineRun,
    resyncMs: 600_000,
    logger: silentLogger(),
  });
}

/** Latencies of promotions, ms: from the request that ended the holder, and from its answer. */
export interface PromotionLatencies {
  fromRequest: number[];
  fromAnswer: number[];
}

/**
 * Watches a namespace's runs as the bench sees them: which run of each queue (group) runs now, and
 * tells whoever waits for a queue when another starts.
 */
export class RunningWatch {
  readonly informer: Informer<PipelineRun>;
  private readonly running = new Map<string, string>();
  private readonly awaiting = new Map<string, (at: number) => void>();

  constructor(kc: KubeConfig, namespace: string, groupOf: (run: PipelineRun) => string) {
    this.informer = runInformer(kc, namespace, `bench-${namespace}`);
    this.informer.onChange((run, event) => {
      if (event === "deleted" || isDone(run) || run.spec?.status === "PipelineRunPending") return;
      const group = groupOf(run);
      if (this.running.get(group) === run.metadata.name) return;
      this.running.set(group, run.metadata.name ?? "");
      this.awaiting.get(group)?.(performance.now());
    });
  }

  async start(): Promise<void> {
    this.informer.start();
    await this.informer.whenSynced();
  }

  stop(): void {
    this.informer.stop();
  }

  /** How many queues have a run running. */
  get runningQueues(): number {
    return this.running.size;
  }

  /**
   * `count` promotions, `concurrency` at a time, round-robin over `groups`: the running run of a queue
   * is ended (Succeeded, as Tekton writes it), and the time until another run of that queue starts is
   * counted — from the request and from its answer.
   */
  async measure(
    api: CustomObjectsApi,
    namespace: string,
    groups: readonly string[],
    count: number,
    concurrency = 10,
  ): Promise<PromotionLatencies> {
    const latencies: PromotionLatencies = { fromRequest: [], fromAnswer: [] };
    let next = 0;
    await inParallel(count, concurrency, async () => {
      const group = groups[next++ % groups.length] ?? "";
      const holder = this.running.get(group);
      if (!holder) return;
      const promoted = new Promise<number>((resolve) => this.awaiting.set(group, resolve));
      const freedAt = performance.now();
      await api.patchNamespacedCustomObjectStatus(
        {
          ...pipelineRunResource,
          namespace,
          name: holder,
          body: {
            status: {
              conditions: [{ type: "Succeeded", status: "True", reason: "Succeeded", message: "done" }],
            },
          },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      const answeredAt = performance.now();
      const at = await withDeadline(promoted, promotionDeadlineMs, `no promotion in ${group}`);
      this.awaiting.delete(group);
      latencies.fromRequest.push(at - freedAt);
      latencies.fromAnswer.push(Math.max(0, at - answeredAt));
    });
    return latencies;
  }
}

/** A promotion not seen by then fails the measurement (a stuck queue), rather than hanging the bench. */
const promotionDeadlineMs = 60_000;

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
