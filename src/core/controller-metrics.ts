import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** How a reconcile ended, as controller-runtime counts them (plus retry and terminal). */
export type ReconcileOutcome = "success" | "requeue_after" | "retry" | "error" | "terminal";

/**
 * Every controller's reconciles, as controller-runtime exports them: by controller and result, their
 * duration, and the depth of each work queue. One set per registry, shared by the process's controllers.
 */
export class ControllerMetrics {
  readonly reconciles: Counter<"controller" | "result">;
  readonly duration: Histogram<"controller">;
  private readonly depths = new Map<string, () => number>();

  constructor(registry: Registry) {
    this.reconciles = new Counter({
      name: "tekton_lineage_reconcile_total",
      help: "Reconciles by controller and result: success, requeue_after (asked to come back), retry (failed for a reason that passes, backing off), error (threw, backing off), terminal (cannot succeed; not retried).",
      labelNames: ["controller", "result"],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: "tekton_lineage_reconcile_time_seconds",
      help: "How long reconciles took, by controller.",
      labelNames: ["controller"],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    const depths = this.depths;
    new Gauge({
      name: "tekton_lineage_workqueue_depth",
      help: "Keys waiting in each controller's work queue (not the ones being reconciled, nor timers).",
      labelNames: ["controller"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [controller, depth] of depths) this.set({ controller }, depth());
      },
    });
  }

  /** Counts one reconcile of `controller` that took `seconds`. */
  observe(controller: string, outcome: ReconcileOutcome, seconds: number): void {
    this.reconciles.inc({ controller, result: outcome });
    this.duration.observe({ controller }, seconds);
  }

  /** Reports `controller`'s work queue depth while it runs (`depth` undefined: it stopped). */
  track(controller: string, depth: (() => number) | undefined): void {
    if (depth) this.depths.set(controller, depth);
    else this.depths.delete(controller);
  }
}
