import type { Counter } from "prom-client";
import type { RunActions } from "../core/run-actions.ts";
import type { PipelineRun } from "../core/tekton.ts";
import { labelKeys } from "../core/vocabulary.ts";
import { WorkQueue } from "../core/work-queue.ts";
import type { EventRecorder } from "../kube/event-recorder.ts";
import type { Informer } from "../kube/informer.ts";
import type { Logger } from "../observability/logger.ts";
import { attemptOf, supersededRuns } from "./supersede.ts";

const lineageIndex = "lineage-id";

/** Cancels attempts superseded by a newer attempt of their lineage that asked for cancel-in-progress. */
export class SupersedeController {
  private work: WorkQueue | undefined;
  private readonly runs: Informer<PipelineRun>;
  private readonly actions: RunActions;
  private readonly events: EventRecorder;
  private readonly cancellations: Counter<"reason">;
  private readonly logger: Logger;

  constructor(options: {
    runs: Informer<PipelineRun>;
    actions: RunActions;
    events: EventRecorder;
    cancellations: Counter<"reason">;
    logger: Logger;
  }) {
    this.runs = options.runs;
    this.actions = options.actions;
    this.events = options.events;
    this.cancellations = options.cancellations;
    this.logger = options.logger;
    options.runs.addIndex(lineageIndex, (run) => run.metadata.labels?.[labelKeys.lineageId]);
    options.runs.onChange((run, event) => {
      const id = run.metadata.labels?.[labelKeys.lineageId];
      if (id && event !== "deleted") this.work?.add(id);
    });
  }

  run(signal: AbortSignal): void {
    const work = new WorkQueue({
      name: "supersede",
      concurrency: 2,
      handler: (id) => this.reconcile(id),
      logger: this.logger,
    });
    this.work = work;
    void this.runs.whenSynced().then(() => {
      if (!signal.aborted) for (const id of this.runs.indexValues(lineageIndex)) work.add(id);
    });
    signal.addEventListener("abort", () => work.stop(), { once: true });
  }

  async reconcile(lineageId: string): Promise<void> {
    const { cancel, by } = supersededRuns(this.runs.byIndex(lineageIndex, lineageId));
    if (!by) return;
    for (const run of cancel) {
      const decision = `cancelled: superseded by attempt ${attemptOf(by)} (${by.metadata.name}), which asked for cancel-in-progress`;
      if ((await this.actions.cancel(run, decision)) !== "done") continue;
      this.cancellations.inc({ reason: "superseded" });
      this.events.record({
        namespace: run.metadata.namespace ?? "",
        objectName: run.metadata.name ?? "",
        objectUid: run.metadata.uid,
        reason: "CancelledInQueue",
        message: decision,
        type: "Normal",
      });
    }
  }
}
