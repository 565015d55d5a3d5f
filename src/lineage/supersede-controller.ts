import type { Counter } from "prom-client";
import { Controller } from "../core/controller.ts";
import type { RunWriter } from "../core/run-actions.ts";
import { recordRunEvent } from "../core/run-events.ts";
import type { PipelineRun } from "../core/tekton.ts";
import { reconcilerKeys } from "../core/vocabulary.ts";
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
      if (key && event !== "deleted") this.controller.enqueueFor(key, event);
    });
  }

  run(signal: AbortSignal): void {
    this.controller.run(signal);
  }

  /** One lineage, keyed namespace/lineage id. */
  async reconcile(key: string): Promise<undefined> {
    const { cancel, keep, by } = supersededRuns(this.options.runs.byIndex(lineageIndex, key));
    if (!by) return undefined;
    const newer = `attempt ${attemptOf(by)} (${by.metadata.name})`;
    for (const run of cancel) {
      const decision = `cancelled: superseded by ${newer}, which asked for cancel-in-progress`;
      // "later": PaC has not yet patched its state on; its patch is a change that brings us back here.
      if ((await this.options.writer.cancel(run, decision)) !== "done") continue;
      this.options.cancellations.inc({ reason: "superseded" });
      recordRunEvent(this.options.events, run, "CancelledInQueue", decision, "Normal");
    }
    for (const run of keep) {
      const decision = `not cancelled: superseded by ${newer}, but Pipelines-as-Code's own queue holds it (its concurrency_limit); PaC frees its slot only when the run ends`;
      if (run.metadata.annotations?.[reconcilerKeys.queueDecision] === decision) continue;
      await this.options.writer.annotate(run, { [reconcilerKeys.queueDecision]: decision });
      recordRunEvent(this.options.events, run, "SupersedeRefused", decision, "Warning");
    }
    return undefined;
  }
}
