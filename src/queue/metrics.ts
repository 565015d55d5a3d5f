import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface QueueMetrics {
  depth: Gauge<"queue">;
  running: Gauge<"queue">;
  waitSeconds: Histogram;
  oldestWaiting: Gauge<"queue">;
  maxWait: Gauge<"queue">;

  promotions: Counter;
  reclaims: Counter;
  cancellations: Counter<"reason">;
  conflicts: Counter<"kind">;
}

/** Queue metrics; `conflicts` is shared with the other Lease writers of the process. */
export function createQueueMetrics(registry: Registry, conflicts: Counter<"kind">): QueueMetrics {
  return {
    depth: new Gauge({
      name: "tekton_lineage_queue_depth",
      help: "PipelineRuns waiting in each queue.",
      labelNames: ["queue"],
      registers: [registry],
    }),
    running: new Gauge({
      name: "tekton_lineage_queue_running",
      help: "Slots held in each queue.",
      labelNames: ["queue"],
      registers: [registry],
    }),
    waitSeconds: new Histogram({
      name: "tekton_lineage_queue_wait_seconds",
      help: "Time from admission to start for runs that waited in a queue.",
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
      registers: [registry],
    }),
    oldestWaiting: new Gauge({
      name: "tekton_lineage_queue_oldest_waiting_timestamp_seconds",
      help: "When the run at the head of each queue was admitted (Unix seconds); absent when nothing waits.",
      labelNames: ["queue"],
      registers: [registry],
    }),
    maxWait: new Gauge({
      name: "tekton_lineage_queue_max_wait_seconds",
      help: "The longest a run may wait in each queue before it is cancelled; 0 when there is no limit.",
      labelNames: ["queue"],
      registers: [registry],
    }),
    promotions: new Counter({
      name: "tekton_lineage_queue_promotions_total",
      help: "Waiting runs given a slot and started.",
      registers: [registry],
    }),
    reclaims: new Counter({
      name: "tekton_lineage_queue_reclaims_total",
      help: "Slots taken back from runs that no longer exist or never were created, after the TTL.",
      registers: [registry],
    }),
    cancellations: new Counter({
      name: "tekton_lineage_queue_cancellations_total",
      help: "Runs cancelled by the queue, by reason (max-wait, superseded, cleared).",
      labelNames: ["reason"],
      registers: [registry],
    }),
    conflicts,
  };
}
