import { Counter, type Registry } from "prom-client";
import { Controller, type ReconcileResult } from "../core/controller.ts";
import type { RunWriter } from "../core/run-actions.ts";
import { recordRunEvent } from "../core/run-events.ts";
import type { PipelineRun } from "../core/tekton.ts";
import { pac } from "../core/vocabulary.ts";
import type { EventSink } from "../kube/event-recorder.ts";
import type { ObjectCache } from "../kube/informer.ts";
import type { Logger } from "../observability/logger.ts";
import type { PacConfig } from "./config.ts";
import type { CreationFailures } from "./creation-failures.ts";
import {
  type OrphanPolicy,
  orphanDecision,
  pacNeverTookOver,
  secretAdoptionNeeds,
  unlessItCannotClone,
} from "./orphans.ts";

/**
 * Finds the runs PaC was told it could not create and never took over (orphans.ts) and adopts them for
 * PaC's watcher or cancels them, as --orphaned-runs says; an Event on the run says which and why.
 */
export class OrphanController {
  readonly controller: Controller;
  private readonly handled: Counter<"action">;
  private readonly options: {
    runs: ObjectCache<PipelineRun>;
    creationFailures: Pick<CreationFailures, "of" | "onFailure" | "synced" | "whenSynced">;
    writer: RunWriter;
    events: EventSink;
    logger: Logger;
    pacConfig: () => PacConfig;
    policy: OrphanPolicy;
    graceMs: number;
    /** Whether a Secret exists; undefined when it cannot be told (no right to read it). */
    secretExists: (namespace: string, name: string) => Promise<boolean | undefined>;
    clock?: () => number;
  };

  constructor(options: OrphanController["options"] & { registry: Registry }) {
    this.options = options;
    this.handled = new Counter({
      name: "tekton_lineage_orphaned_runs_total",
      help: "Runs PaC was told it could not create and never took over, adopted for its watcher or cancelled.",
      labelNames: ["action"],
      registers: [options.registry],
    });
    const keyOf = (run: PipelineRun) => `${run.metadata.namespace}/${run.metadata.name}`;
    const candidate = pacNeverTookOver;
    this.controller = new Controller({
      name: "pac-orphans",
      reconcile: (key) => this.reconcile(key),
      caches: [options.runs, options.creationFailures],
      initialKeys: () => options.runs.list().filter(candidate).map(keyOf),
      concurrency: 2,
      logger: options.logger,
    });
    options.runs.onChange((run, event) => {
      if (event !== "deleted" && candidate(run)) this.controller.enqueueFor(keyOf(run), event);
    });
    options.creationFailures.onFailure((namespace, repository, change) => {
      for (const run of options.runs.list(namespace))
        if (candidate(run) && run.metadata.annotations?.[pac.repository] === repository)
          this.controller.enqueueFor(keyOf(run), change);
    });
  }

  run(signal: AbortSignal): void {
    this.controller.run(signal);
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const slash = key.indexOf("/");
    const run = this.options.runs.get(key.slice(0, slash), key.slice(slash + 1));
    const a = run?.metadata.annotations ?? {};
    if (!run || !a[pac.repository] || !a[pac.originalPrName]) return {};
    const failures = this.options.creationFailures.of({
      namespace: run.metadata.namespace ?? "",
      repository: a[pac.repository] ?? "",
      pipeline: a[pac.originalPrName] ?? "",
    });
    const now = (this.options.clock ?? Date.now)();
    const decided = orphanDecision(
      run,
      failures,
      this.options.policy,
      this.options.pacConfig(),
      now,
      this.options.graceMs,
    );
    if (decided.kind === "none") return {};
    if (decided.kind === "wait") return { requeueAfterMs: decided.afterMs + 50 };
    const secret = decided.kind === "adopt" ? secretAdoptionNeeds(run) : undefined;
    const decision =
      decided.kind === "adopt" && secret
        ? unlessItCannotClone(
            decided,
            secret,
            await this.options.secretExists(run.metadata.namespace ?? "", secret),
          )
        : decided;
    const result =
      decision.kind === "adopt"
        ? await this.options.writer.annotateIfUnchanged(run, {
            annotations: decision.annotations,
            labels: decision.labels,
          })
        : await this.options.writer.cancel(run, decision.decision, { orphan: true });
    if (result !== "done") return {};
    this.handled.inc({ action: decision.kind });
    const message =
      decision.kind === "adopt"
        ? `Pipelines-as-Code was told its create failed (${decision.failure.error}) although the run was stored; handed over to its watcher (state ${decision.annotations[pac.state]})`
        : decision.decision;
    this.options.logger.warn({ run: key }, message);
    recordRunEvent(
      this.options.events,
      run,
      decision.kind === "adopt" ? "OrphanAdopted" : "OrphanCancelled",
      message,
      "Warning",
    );
    return {};
  }
}
