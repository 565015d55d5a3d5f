import { decisionAnnotations, type RunWriter } from "../../core/run-actions.ts";
import { recordRunEvent } from "../../core/run-events.ts";
import type { PipelineRun } from "../../core/tekton.ts";
import { admissionKeys, reconcilerKeys } from "../../core/vocabulary.ts";
import type { EventSink } from "../../kube/event-recorder.ts";
import type { Logger } from "../../observability/logger.ts";
import type { QueueMetrics } from "../metrics.ts";
import type { Slot } from "../state.ts";
import type { QueuePlan } from "./plan.ts";

export interface ApplyDependencies {
  writer: RunWriter;
  events: EventSink;
  metrics: QueueMetrics;
  logger: Logger;
  ttlMs: number;
  /** Wall clock (ms), for how long a run waited. */
  now: () => number;
}

export interface Applied {
  /** The runs the plan has finished with (freed or dropped), which the controller may forget. */
  settled: string[];
  /** Slots whose start the API server took. */
  started: Slot[];
}

/**
 * Carries out what a plan decided, once its Lease is written: starts (in ticket order, each with the
 * fencing token of its slot), cancellations, and the decisions recorded on runs, with Events and metrics.
 */
export async function applyQueuePlan(
  plan: QueuePlan,
  runs: ReadonlyMap<string, PipelineRun>,
  deps: ApplyDependencies,
): Promise<Applied> {
  const started: Slot[] = [];
  const { state } = plan;
  const { metrics, writer } = deps;
  metrics.depth.set({ queue: state.key }, state.waiting.length);
  metrics.running.set({ queue: state.key }, state.slots.length);
  const head = Date.parse(state.waiting[0]?.enqueuedAt ?? "");
  if (Number.isFinite(head)) metrics.oldestWaiting.set({ queue: state.key }, head / 1000);
  else metrics.oldestWaiting.remove({ queue: state.key });

  if (plan.recovered.length > 0) {
    deps.logger.warn({ queue: state.key, runs: plan.recovered }, "queue state had lost runs; put them back");
  }
  // A slot held by a run still Pending was granted but its start did not land (cut short, or refused
  // because the run moved on before the cache showed it): the start that succeeds is its promotion.
  for (const slot of [...plan.restart, ...plan.promote].sort((a, b) => a.ticket - b.ticket)) {
    const run = runs.get(slot.run);
    if (!run) continue;
    const enqueuedAt = Date.parse(run.metadata.annotations?.[admissionKeys.enqueuedAt] ?? "");
    const waited = Number.isFinite(enqueuedAt) ? Math.max(0, (deps.now() - enqueuedAt) / 1000) : undefined;
    const decision = `started by queue ${state.key} after waiting ${waited === undefined ? "?" : waited.toFixed(1)}s (ticket ${slot.ticket}, slot fence ${slot.fence})`;
    if ((await writer.start(run, slot.fence, decision)) !== "done") continue;
    started.push(slot);
    metrics.promotions.inc();
    if (waited !== undefined) metrics.waitSeconds.observe(waited);
    recordRunEvent(deps.events, run, "Promoted", decision);
  }
  for (const slot of plan.adopted) {
    const run = runs.get(slot.run);
    if (!run) continue;
    await writer.annotate(run, {
      ...decisionAnnotations(
        "started-outside",
        `running outside queue ${state.key}: started by someone else; it holds a slot`,
      ),
      [reconcilerKeys.queuePosition]: null,
    });
  }
  const settled: string[] = [];
  for (const { slot, why } of plan.freed) {
    settled.push(slot.run);
    if (why !== "reclaimed") continue;
    metrics.reclaims.inc();
    const [namespace, name] = slot.run.split("/");
    deps.events.record({
      namespace: namespace ?? "",
      objectName: name ?? "",
      reason: "Reclaimed",
      message: `slot of queue ${state.key} taken back: the run did not exist for ${Math.round(deps.ttlMs / 1000)}s`,
      type: "Warning",
    });
  }
  for (const { entry, why } of plan.dropped) {
    settled.push(entry.run);
    const run = runs.get(entry.run);
    const decided = run?.metadata.annotations?.[reconcilerKeys.queueOutcome] === "cancelled";
    if (run && why === "cancelled" && !decided) {
      await writer.annotate(run, {
        ...decisionAnnotations("cancelled", `cancelled while waiting in queue ${state.key}`),
        [reconcilerKeys.queuePosition]: null,
      });
    }
  }
  for (const { entry, why } of plan.cancel) {
    const run = runs.get(entry.run);
    if (!run) continue;
    if ((await writer.cancel(run, `cancelled: ${why}`)) !== "done") continue;
    metrics.cancellations.inc({ reason: "max-wait" });
    recordRunEvent(deps.events, run, "CancelledInQueue", `cancelled: ${why}`, "Warning");
  }
  return { settled, started };
}
