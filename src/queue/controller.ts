import type { V1Lease } from "@kubernetes/client-node";
import type { RunActions } from "../core/run-actions.ts";
import { isDone, type PipelineRun, pendingStatus } from "../core/tekton.ts";
import { admissionKeys, labelKeys, leaseLabels, reconcilerKeys } from "../core/vocabulary.ts";
import { WorkQueue } from "../core/work-queue.ts";
import type { EventRecorder } from "../kube/event-recorder.ts";
import type { Informer, InformerEvent } from "../kube/informer.ts";
import { type CachedLease, compareAndSwap, type LeaseAccess } from "../kube/leases.ts";
import type { Logger } from "../observability/logger.ts";
import type { QueueLimits } from "./limits.ts";
import type { QueueMetrics } from "./metrics.ts";
import { planQueue, type QueuePlan } from "./plan.ts";
import { rebuildQueueState } from "./rebuild.ts";
import { type RunView, runKey, viewOf } from "./run-view.ts";
import {
  type QueueState,
  queueLease,
  queueLeaseKind,
  queueLeaseName,
  readQueueState,
  sameState,
} from "./state.ts";

const queueIndex = "queue-id";

export interface QueueControllerOptions {
  runs: Informer<PipelineRun>;
  leases: Informer<CachedLease>;
  store: LeaseAccess;
  limits: QueueLimits;
  actions: RunActions;
  events: EventRecorder;
  metrics: QueueMetrics;
  logger: Logger;
  instance: string;
  ttlMs: number;
  /** Waiting runs' positions are written at most this often per queue (they change with every start). */
  positionDelayMs: number;
  /** Namespaces this reconciler watches (empty: all). A queue with runs elsewhere is not its to move. */
  watchedNamespaces: readonly string[];
  /** Queues reconciled side by side. */
  concurrency?: number;
  clock?: () => number;
}

interface Memory {
  absentSince: Map<string, number>;
  seen: Set<string>;
}

/**
 * Keeps every queue moving: on any change of its runs or its Lease (and on resync), the queue is planned
 * again from the cluster's state (planQueue), the Lease is written by compare-and-swap (re-planned on
 * conflict, so admissions and other replicas are never overwritten), and only then are runs started,
 * each with the fencing token of its slot. Memory here (TTL clocks) is only an optimisation: a restart
 * loses nothing but restarts the TTL clocks, which delays a reclaim and never hastens one.
 */
export class QueueController {
  private readonly o: QueueControllerOptions;
  private readonly memory = new Map<string, Memory>();
  private readonly positionTimers = new Map<string, NodeJS.Timeout>();
  private positionWrites: Promise<void> = Promise.resolve();
  private work: WorkQueue | undefined;
  private readonly clock: () => number;

  constructor(options: QueueControllerOptions) {
    this.o = options;
    this.clock = options.clock ?? (() => performance.now());
    options.runs.addIndex(queueIndex, (run) => run.metadata.labels?.[labelKeys.queueId]);
    options.runs.onChange((run, event) => this.observeRun(run, event));
    options.leases.onChange((lease) => {
      const id = lease.metadata.labels?.[labelKeys.queueId];
      if (id && lease.metadata.labels?.[leaseLabels.kind] === queueLeaseKind) this.work?.add(id);
    });
  }

  /** Starts reconciling (on the leader), until the signal aborts. */
  run(signal: AbortSignal): void {
    const work = new WorkQueue({
      name: "queues",
      concurrency: this.o.concurrency ?? 4,
      handler: (id) => this.reconcile(id),
      logger: this.o.logger,
    });
    this.work = work;
    // A new leader may be elected before its caches are filled: start from every queue once they are.
    void Promise.all([this.o.runs.whenSynced(), this.o.leases.whenSynced()]).then(() => {
      if (!signal.aborted) for (const id of this.queueIds()) work.add(id);
    });
    signal.addEventListener(
      "abort",
      () => {
        work.stop();
        if (this.work === work) this.work = undefined;
        for (const timer of this.positionTimers.values()) clearTimeout(timer);
        this.positionTimers.clear();
      },
      { once: true },
    );
  }

  /** Every queue known from runs or Leases (recovery: Leases and runs are found by label, never by full list). */
  queueIds(): string[] {
    const ids = new Set(this.o.runs.indexValues(queueIndex));
    for (const lease of this.o.leases.list()) {
      const id = lease.metadata.labels?.[labelKeys.queueId];
      if (id) ids.add(id);
    }
    return [...ids];
  }

  private observeRun(run: PipelineRun, event: InformerEvent): void {
    const id = run.metadata.labels?.[labelKeys.queueId];
    if (!id) return;
    if (event !== "deleted" && !isDone(run))
      this.memoryOf(id).seen.add(runKey(run.metadata.namespace, run.metadata.name));
    this.work?.add(id);
  }

  private memoryOf(id: string): Memory {
    let memory = this.memory.get(id);
    if (!memory) {
      memory = { absentSince: new Map(), seen: new Set() };
      this.memory.set(id, memory);
    }
    return memory;
  }

  private runsOf(id: string): Map<string, PipelineRun> {
    return new Map(
      this.o.runs
        .byIndex(queueIndex, id)
        .map((run) => [runKey(run.metadata.namespace, run.metadata.name), run]),
    );
  }

  /** One queue: plan, write the Lease conditionally, then act on the runs. */
  async reconcile(id: string): Promise<void> {
    if (!this.o.runs.synced || !this.o.leases.synced) {
      this.work?.addAfter(id, 200);
      return;
    }
    const memory = this.memoryOf(id);
    const name = queueLeaseName(id);
    let plan: QueuePlan | undefined;
    let runs = new Map<string, PipelineRun>();
    let wait = 0;
    await compareAndSwap(
      this.o.store,
      name,
      (current) => {
        // The runs and what was seen of them are read here, together, in one synchronous step: a run
        // observed after a snapshot of the cache but before the plan would look deleted.
        runs = this.runsOf(id);
        const views = new Map<string, RunView>([...runs].map(([key, run]) => [key, viewOf(run)]));
        const before = readQueueState(current) ?? this.rebuild(runs, views);
        if (!before || !this.watches(before)) {
          plan = undefined;
          return undefined;
        }
        const { limit, maxWaitMs } = this.o.limits.current(before);
        wait = maxWaitMs;
        plan = planQueue({
          state: before,
          limit,
          runs: views,
          now: this.clock(),
          wallNow: new Date(),
          absentSince: memory.absentSince,
          seen: new Set(memory.seen),
          ttlMs: this.o.ttlMs,
          maxWaitMs,
        });
        if (current && sameState(before, plan.state)) return undefined;
        return queueLease(current, plan.state, this.o.instance, new Date());
      },
      {
        hint: this.o.leases.get(this.o.store.namespace, name) as V1Lease | undefined,
        onConflict: () => this.o.metrics.conflicts.inc({ kind: queueLeaseKind }),
      },
    );
    if (!plan) return;
    memory.absentSince = plan.absentSince;
    await this.act(id, plan, runs);
    this.scheduleTimers(id, plan, wait);
  }

  /** Nothing in the cluster changes when a TTL or a maximum wait runs out: come back by then. */
  private scheduleTimers(id: string, plan: QueuePlan, maxWaitMs: number): void {
    if (plan.absentSince.size > 0) this.work?.addAfter(id, Math.max(1000, this.o.ttlMs / 4));
    const oldest = plan.state.waiting[0];
    if (maxWaitMs > 0 && oldest) {
      const due = Date.parse(oldest.enqueuedAt) + maxWaitMs - Date.now();
      this.work?.addAfter(id, Math.max(100, due + 50));
    }
  }

  /** True when every run of the queue lives in a namespace this reconciler sees. */
  private watches(state: QueueState): boolean {
    const watched = this.o.watchedNamespaces;
    if (watched.length === 0) return true;
    return [...state.slots, ...state.waiting].every((entry) =>
      watched.includes(entry.run.split("/")[0] ?? ""),
    );
  }

  private rebuild(runs: Map<string, PipelineRun>, views: Map<string, RunView>): QueueState | undefined {
    const sample = [...runs.values()][0];
    if (!sample) return undefined;
    const a = sample.metadata.annotations ?? {};
    const choice = this.o.limits.choose(
      {
        namespace: sample.metadata.namespace ?? "",
        name: sample.metadata.name,
        labels: sample.metadata.labels ?? {},
        annotations: a,
      },
      false,
    );
    if (!choice.queued) return undefined;
    this.o.logger.warn(
      { queue: choice.key, runs: runs.size },
      "queue Lease missing: rebuilding the queue from its runs",
    );
    return rebuildQueueState(choice.key, choice.limit, choice.source, [...views.values()], new Date());
  }

  private async act(id: string, plan: QueuePlan, runs: Map<string, PipelineRun>): Promise<void> {
    const { state } = plan;
    const { metrics, actions, events } = this.o;
    metrics.depth.set({ queue: state.key }, state.waiting.length);
    metrics.running.set({ queue: state.key }, state.slots.length);
    const memory = this.memoryOf(id);
    if (plan.recovered.length > 0) {
      this.o.logger.warn(
        { queue: state.key, runs: plan.recovered },
        "queue state had lost runs; put them back",
      );
    }
    // Starts go out in ticket order (a start cut short before a newer grant first). A slot held by a run
    // still Pending was granted but its start did not land (cut short, or refused because the run moved
    // on before the cache showed it): either way, the start that succeeds is the run's promotion.
    for (const slot of [...plan.restart, ...plan.promote].sort((a, b) => a.ticket - b.ticket)) {
      const run = runs.get(slot.run);
      if (!run) continue;
      const enqueuedAt = Date.parse(run.metadata.annotations?.[admissionKeys.enqueuedAt] ?? "");
      const waited = Number.isFinite(enqueuedAt) ? Math.max(0, (Date.now() - enqueuedAt) / 1000) : undefined;
      const decision = `started by queue ${state.key} after waiting ${waited === undefined ? "?" : waited.toFixed(1)}s (ticket ${slot.ticket}, slot fence ${slot.fence})`;
      const result = await actions.start(run, slot.fence, decision);
      if (result === "done") {
        metrics.promotions.inc();
        if (waited !== undefined) metrics.waitSeconds.observe(waited);
        this.recordEvent(run, "Promoted", decision);
      }
    }
    for (const slot of plan.adopted) {
      const run = runs.get(slot.run);
      if (run)
        await actions.annotate(run, {
          [reconcilerKeys.queueDecision]: `running outside queue ${state.key}: started by someone else; it holds a slot`,
          [reconcilerKeys.queuePosition]: null,
        });
    }
    for (const { slot, why } of plan.freed) {
      memory.seen.delete(slot.run);
      if (why === "reclaimed") {
        metrics.reclaims.inc();
        const [namespace, name] = slot.run.split("/");
        events.record({
          namespace: namespace ?? "",
          objectName: name ?? "",
          reason: "Reclaimed",
          message: `slot of queue ${state.key} taken back: the run did not exist for ${Math.round(this.o.ttlMs / 1000)}s`,
          type: "Warning",
        });
      }
    }
    for (const { entry, why } of plan.dropped) {
      memory.seen.delete(entry.run);
      const run = runs.get(entry.run);
      const decided = run?.metadata.annotations?.[reconcilerKeys.queueDecision]?.startsWith("cancelled");
      if (run && why === "cancelled" && !decided) {
        await actions.annotate(run, {
          [reconcilerKeys.queueDecision]: `cancelled while waiting in queue ${state.key}`,
          [reconcilerKeys.queuePosition]: null,
        });
      }
    }
    for (const { entry, why } of plan.cancel) {
      const run = runs.get(entry.run);
      if (!run) continue;
      if ((await actions.cancel(run, `cancelled: ${why}`)) === "done") {
        metrics.cancellations.inc({ reason: "max-wait" });
        this.recordEvent(run, "CancelledInQueue", `cancelled: ${why}`, "Warning");
      }
    }
    this.schedulePositions(id, state.key);
  }

  private recordEvent(
    run: PipelineRun,
    reason: string,
    message: string,
    type: "Normal" | "Warning" = "Normal",
  ) {
    this.o.events.record({
      namespace: run.metadata.namespace ?? "",
      objectName: run.metadata.name ?? "",
      objectUid: run.metadata.uid,
      reason,
      message,
      type,
    });
  }

  /**
   * Writes place in line and decision of waiting runs, only where they changed. Positions change with
   * every start, so they are coalesced per queue (positionDelayMs), written one request at a time for the
   * whole process (starts never wait behind them), and exact only for the first `exactPositions` runs.
   */
  private schedulePositions(id: string, key: string): void {
    if (this.positionTimers.has(id)) return;
    const timer = setTimeout(() => {
      this.positionTimers.delete(id);
      this.positionWrites = this.positionWrites
        .then(() => this.writePositions(id))
        .catch((error: unknown) =>
          this.o.logger.warn({ err: error, queue: key }, "could not write queue positions"),
        );
    }, this.o.positionDelayMs);
    timer.unref();
    this.positionTimers.set(id, timer);
  }

  private async writePositions(id: string): Promise<void> {
    const lease =
      this.o.leases.get(this.o.store.namespace, queueLeaseName(id)) ??
      (await this.o.store.get(queueLeaseName(id)));
    const state = readQueueState(lease);
    if (!state) return;
    const runs = this.runsOf(id);
    for (const [index, entry] of state.waiting.entries()) {
      const run = runs.get(entry.run);
      if (run?.spec?.status !== pendingStatus) continue;
      const first = run.metadata.annotations?.[reconcilerKeys.queuePosition] === undefined;
      const decision = `waiting in queue ${state.key} (ticket ${entry.ticket}, limit ${state.limit})`;
      const written = await this.o.actions.annotateWaiting(run, {
        [reconcilerKeys.queuePosition]: positionText(index + 1),
        [reconcilerKeys.queueDecision]: decision,
      });
      if (first && written === "done") {
        this.recordEvent(
          run,
          "Queued",
          `${decision}: ${index + 1} in line, ${state.slots.length}/${state.limit} running`,
        );
      }
    }
  }
}

/** Places beyond this are written as "<n>+": exact positions far back in a long line cost a write per start. */
export const exactPositions = 20;

export function positionText(position: number): string {
  return position <= exactPositions ? String(position) : `${exactPositions}+`;
}
