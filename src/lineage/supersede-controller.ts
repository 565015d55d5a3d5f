import type { Counter } from "prom-client";
import { Controller } from "../core/controller.ts";
import type { RunWriter } from "../core/run-actions.ts";
import type { PipelineRun } from "../core/tekton.ts";
import type { EventSink } from "../kube/event-recorder.ts";
import type { ObjectCache } from "../kube/informer.ts";
import type { Logger } from "../observability/logger.ts";
import { lineageIndex, lineageIndexValue } from "./genuine-runs.ts";
import { attemptOf, supersededRuns } from "./supersede.ts";

export interface SupersedeControllerOptions {
  runs: ObjectCache<PipelineRun>;
  writer: RunWriter;
  events: EventSink;
  cancellations: Counter<"reason">;
  logger: Logger;
}

/** Cancels attempts superseded by a newer attempt of their lineage that asked for cancel-in-progress. */
export class SupersedeController {
  private readonly options: SupersedeControllerOptions;
  readonly controller: Controller;

  constructor(options: SupersedeControllerOptions) {
    this.options = options;
    this.controller = new Controller({
      name: "supersede",
      reconcile: (id) => this.reconcile(id),
      caches: [options.runs],
      initialKeys: () => options.runs.indexValues(lineageIndex),
      concurrency: 2,
      logger: options.logger,
    });
    options.runs.addIndex(lineageIndex, lineageIndexValue);
    options.runs.onChange((run, event) => {
      const key = lineageIndexValue(run);
      if (key && event !== "deleted") this.controller.enqueue(key);
    });
  }

  run(signal: AbortSignal): void {
    this.controller.run(signal);
  }

  /** One lineage, keyed namespace/lineage id. */
  async reconcile(key: string): Promise<undefined> {
    const { cancel, by } = supersededRuns(this.options.runs.byIndex(lineageIndex, key));
    if (!by) return undefined;
    for (const run of cancel) {
      const decision = `cancelled: superseded by attempt ${attemptOf(by)} (${by.metadata.name}), which asked for cancel-in-progress`;
      if ((await this.options.writer.cancel(run, decision)) !== "done") continue;
      this.options.cancellations.inc({ reason: "superseded" });
      this.options.events.record({
        namespace: run.metadata.namespace ?? "",
        objectName: run.metadata.name ?? "",
        objectUid: run.metadata.uid,
        reason: "CancelledInQueue",
        message: decision,
        type: "Normal",
      });
    }
    return undefined;
  }
}
