import { setTimeout as sleep } from "node:timers/promises";
import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { isDone, type PipelineRun, pipelineRunResource, trimPipelineRun } from "../../../src/core/tekton.ts";
import { customResourceSource } from "../../../src/kube/custom-objects.ts";
import { Informer } from "../../../src/kube/informer.ts";
import { silentLogger } from "../../../src/observability/logger.ts";

export interface SimulatedOutcome {
  /** How long the run runs, in ms; Infinity holds it until finishNow(). */
  durationMs: number;
  succeeded: boolean;
  reason?: string;
  message?: string;
}

/**
 * Plays Tekton's controller for tests, as pkg/reconciler/pipelinerun/pipelinerun.go (v1.6.0) does: a
 * Pending run is marked Succeeded Unknown/PipelineRunPending (MarkRunning with the Pending reason); a run
 * that is neither Pending nor cancelled is started (Succeeded Unknown/Running, startTime) and finished
 * after its duration; a cancelled one is ended as Cancelled — after `cancelDelayMs`, the time Tekton
 * takes to see the cancel and cancel the run's TaskRuns, during which the run is cancelled but not done.
 * Status is written through the status subresource, as Tekton does.
 */
export class TektonSimulator {
  private readonly informer: Informer<PipelineRun>;
  private readonly api: CustomObjectsApi;
  private readonly handled = new Set<string>();
  private readonly cancelled = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Run keys in the order this simulator started them, with the time. */
  readonly started: { run: string; at: number }[] = [];
  readonly finished: { run: string; at: number }[] = [];

  /** The most runs (of those `counted` keeps, by run key) that were running at once, from starts and ends. */
  mostRunningAtOnce(counted: (run: string) => boolean = () => true): number {
    const events = [
      ...this.started.filter((s) => counted(s.run)).map((s) => ({ at: s.at, delta: 1 })),
      ...this.finished.filter((f) => counted(f.run)).map((f) => ({ at: f.at, delta: -1 })),
    ].sort((a, b) => a.at - b.at || a.delta - b.delta);
    let running = 0;
    let most = 0;
    for (const e of events) {
      running += e.delta;
      most = Math.max(most, running);
    }
    return most;
  }
  private readonly outcome: (run: PipelineRun) => SimulatedOutcome;
  private readonly cancelDelayMs: number;

  constructor(
    kubeConfig: KubeConfig,
    namespaces: string[],
    outcome: (run: PipelineRun) => SimulatedOutcome,
    options: { cancelDelayMs?: number } = {},
  ) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.outcome = outcome;
    this.cancelDelayMs = options.cancelDelayMs ?? 200;
    this.informer = new Informer<PipelineRun>({
      name: "simulated-tekton",
      kubeConfig,
      source: customResourceSource(kubeConfig, pipelineRunResource),
      namespaces,
      transform: trimPipelineRun,
      resyncMs: 1000,
      logger: silentLogger(),
    });
    this.informer.onChange((run, event) => {
      if (event !== "deleted") void this.observe(run);
    });
  }

  async start(): Promise<void> {
    this.informer.start();
    await this.informer.whenSynced();
  }

  stop(): void {
    this.informer.stop();
    for (const timer of this.timers) clearTimeout(timer);
  }

  private async observe(run: PipelineRun): Promise<void> {
    const key = `${run.metadata.namespace}/${run.metadata.name}`;
    if (isDone(run) || this.cancelled.has(key)) return;
    const status = run.spec?.status;
    if (status === "Cancelled" || status === "CancelledRunFinally" || status === "StoppedRunFinally") {
      // Pending or running, a cancelled run ends as Cancelled once Tekton's reconcile gets to it.
      this.cancelled.add(key);
      this.handled.add(key);
      if (this.cancelDelayMs > 0) await sleep(this.cancelDelayMs);
      // Ended as of the write, not its answer: a slot freed by it may be taken before the answer comes.
      const endedAt = Date.now();
      await this.writeStatus(run, {
        status: "False",
        reason: "Cancelled",
        message: `PipelineRun "${run.metadata.name}" was cancelled`,
      });
      this.finished.push({ run: key, at: endedAt });
      return;
    }
    if (status === "PipelineRunPending") {
      const reason = run.status?.conditions?.find((c) => c.type === "Succeeded")?.reason;
      if (reason !== "PipelineRunPending")
        await this.writeStatus(run, {
          status: "Unknown",
          reason: "PipelineRunPending",
          message: `PipelineRun "${run.metadata.name}" is pending`,
        });
      return;
    }
    if (this.handled.has(key)) return;
    this.handled.add(key);
    this.started.push({ run: key, at: Date.now() });
    await this.writeStatus(
      run,
      {
        status: "Unknown",
        reason: "Running",
        message: "Tasks Completed: 0 (Failed: 0, Cancelled 0), Incomplete: 1, Skipped: 0",
      },
      true,
    );
    const outcome = this.outcome(run);
    if (!Number.isFinite(outcome.durationMs)) return; // held until finishNow()
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.finish(run, outcome);
    }, outcome.durationMs);
    this.timers.add(timer);
  }

  /** Ends a started run now, as Tekton would when its tasks finish. */
  async finishNow(
    namespace: string,
    name: string,
    outcome: Omit<SimulatedOutcome, "durationMs">,
  ): Promise<void> {
    const run = this.informer.get(namespace, name);
    if (!run) throw new Error(`simulated Tekton does not know ${namespace}/${name}`);
    await this.finish(run, { durationMs: 0, ...outcome });
  }

  private async finish(run: PipelineRun, outcome: SimulatedOutcome): Promise<void> {
    const fresh = this.informer.get(run.metadata.namespace, run.metadata.name ?? "");
    if (!fresh || isDone(fresh)) return;
    const cancelled = fresh.spec?.status?.startsWith("Cancelled");
    // Ended as of the write, not its answer: the queue may start the next run before the answer comes.
    const endedAt = Date.now();
    await this.writeStatus(fresh, {
      status: outcome.succeeded && !cancelled ? "True" : "False",
      reason: cancelled ? "Cancelled" : (outcome.reason ?? (outcome.succeeded ? "Succeeded" : "Failed")),
      message:
        outcome.message ??
        (outcome.succeeded
          ? "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0"
          : "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0"),
    });
    this.finished.push({ run: `${run.metadata.namespace}/${run.metadata.name}`, at: endedAt });
  }

  private async writeStatus(
    run: PipelineRun,
    condition: { status: string; reason: string; message: string },
    starting = false,
  ) {
    const now = new Date().toISOString();
    const status: Record<string, unknown> = {
      conditions: [{ type: "Succeeded", lastTransitionTime: now, ...condition }],
    };
    if (starting) status.startTime = now;
    if (condition.status !== "Unknown") status.completionTime = now;
    try {
      await this.api.patchNamespacedCustomObjectStatus(
        {
          group: pipelineRunResource.group,
          version: pipelineRunResource.version,
          plural: pipelineRunResource.plural,
          namespace: run.metadata.namespace ?? "",
          name: run.metadata.name ?? "",
          body: { status },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    } catch {
      // Deleted meanwhile: nothing to report.
    }
  }
}
