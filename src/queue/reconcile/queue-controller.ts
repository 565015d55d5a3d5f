import type { V1Lease } from "@kubernetes/client-node";
import { Controller, type ReconcileResult, sooner } from "../../core/controller.ts";
import type { RunWriter } from "../../core/run-actions.ts";
import { isDone, isPending, type PipelineRun } from "../../core/tekton.ts";
import { labelKeys, leaseLabels } from "../../core/vocabulary.ts";
import type { EventSink } from "../../kube/event-recorder.ts";
import type { Existence } from "../../kube/existence.ts";
import type { ObjectCache } from "../../kube/informer.ts";
import { type CachedLease, compareAndSwap, type LeaseAccess } from "../../kube/leases.ts";
import type { Logger } from "../../observability/logger.ts";
import type { QueueLimits } from "../limits.ts";
import type { QueueMetrics } from "../metrics.ts";
import { type QueuedRun, queuedRunOf, runKey } from "../queued-run.ts";
import { rebuildQueueState } from "../rebuild.ts";
import {
  type QueueState,
  queueLease,
  queueLeaseKind,
  queueLeaseName,
  readableQueueState,
  sameState,
} from "../state.ts";
import { applyQueuePlan } from "./apply.ts";
import { planQueue, type QueuePlan } from "./plan.ts";
import { QueueMemory } from "./queue-memory.ts";
import { RecentStarts } from "./recent-starts.ts";
import { WaitingRecorder } from "./waiting-recorder.ts";

const queueIndex = "queue-id";
/** Reads of the API server one look at a queue may make to confirm that runs are gone. */
const maxReadsPerReconcile = 32;
/** A start the API server took is not made again for this long while the cache catches up. */
const restartGraceMs = 10_000;

export interface QueueControllerOptions {
  /** The controller's name, in metrics and logs ("queues"; "cluster-queues" for the leader's rule queues). */
  name?: string;
  runs: ObjectCache<PipelineRun>;
  leases: ObjectCache<CachedLease>;
  store: LeaseAccess;
  limits: Pick<QueueLimits, "choose" | "current">;
  writer: RunWriter;
  events: EventSink;
  metrics: QueueMetrics;
  logger: Logger;
  instance: string;
  ttlMs: number;
  /**
   * Reads whether a run exists from the API server. Before a place is taken back from a run the cache
   * lacks, the API server is asked: a cache that lags must never free a slot a run still holds.
   */
  exists?: Existence;
  /** Newly waiting runs of one queue are recorded (decision, Queued Event) at most this often. */
  waitingDelayMs: number;
  /**
   * Whether this controller moves the queue now (sharded: a Repository's queue of a bucket held, or a
   * rule's queue on the leader). Asked of the state read for every write: a queue it does not own is
   * never written, whatever its caches or its memory of earlier terms say.
   */
  owns?: (state: QueueState) => boolean;
  /** Namespaces this reconciler watches (empty: all). A queue with runs elsewhere is not its to move. */
  watchedNamespaces: readonly string[];
  /** Queues reconciled side by side. */
  concurrency?: number;
  /** Own clock (ms) for TTLs; wall clock (ms) for waits measured from admission times. */
  clock?: () => number;
  wallClock?: () => number;
}

/**
 * Keeps every queue moving: on any change of its runs or its Lease (and on resync), the queue is planned
 * again from the cluster's state (planQueue), the Lease is written by compare-and-swap (re-planned on
 * conflict, so admissions and other replicas are never overwritten), and only then are runs started,
 * each with the fencing token of its slot (applyQueuePlan). It comes back when a TTL or a maximum wait
 * runs out, since nothing in the cluster changes then.
 */
export class QueueController {
  private readonly options: QueueControllerOptions;
  private readonly memory: QueueMemory;
  private readonly starts: RecentStarts;
  private readonly clock: () => number;
  private readonly wallClock: () => number;
  readonly controller: Controller;
  readonly waiting: WaitingRecorder;

  constructor(options: QueueControllerOptions) {
    this.options = options;
    this.clock = options.clock ?? (() => performance.now());
    this.wallClock = options.wallClock ?? Date.now;
    this.memory = new QueueMemory(options.ttlMs, this.clock);
    this.starts = new RecentStarts(restartGraceMs, this.clock);
    this.controller = new Controller({
      name: options.name ?? "queues",
      reconcile: (id) => this.reconcile(id),
      caches: [options.runs, options.leases],
      initialKeys: () => this.queueIds(),
      concurrency: options.concurrency ?? 4,
      logger: options.logger,
    });
    this.waiting = new WaitingRecorder({
      name: `${options.name ?? "queues"}-waiting`,
      leases: options.leases,
      store: options.store,
      runsOf: (id) => this.runsOf(id),
      writer: options.writer,
      events: options.events,
      logger: options.logger,
      delayMs: options.waitingDelayMs,
    });
    options.runs.addIndex(queueIndex, (run) => run.metadata.labels?.[labelKeys.queueId]);
    options.runs.onChange((run, event) => {
      const id = run.metadata.labels?.[labelKeys.queueId];
      if (!id) return;
      const how = event === "deleted" ? "deleted" : isDone(run) ? "done" : "exists";
      if (how !== "exists" || !isPending(run))
        this.starts.forget(runKey(run.metadata.namespace, run.metadata.name));
      this.memory.observe(id, run.metadata.namespace, run.metadata.name, how);
      this.controller.enqueueFor(id, event);
    });
    options.leases.onChange((lease, event) => {
      const id = lease.metadata.labels?.[leaseLabels.queueId];
      if (id && lease.metadata.labels?.[leaseLabels.kind] === queueLeaseKind)
        this.controller.enqueueFor(id, event);
    });
  }

  /** Starts reconciling (on the leader), until the signal aborts. */
  run(signal: AbortSignal): void {
    this.controller.run(signal);
    this.waiting.controller.run(signal);
  }

  /** Every queue known from runs or Leases (recovery: Leases and runs are found by label, never by full list). */
  queueIds(): string[] {
    const ids = new Set(this.options.runs.indexValues(queueIndex));
    for (const lease of this.options.leases.list()) {
      const id = lease.metadata.labels?.[leaseLabels.queueId];
      if (id) ids.add(id);
    }
    return [...ids];
  }

  /** Runs remembered as seen (for the memory bound). */
  get remembered(): number {
    return this.memory.size;
  }

  private runsOf(id: string): Map<string, PipelineRun> {
    return new Map(
      this.options.runs
        .byIndex(queueIndex, id)
        .map((run) => [runKey(run.metadata.namespace, run.metadata.name), run]),
    );
  }

  /** One queue: plan, write the Lease conditionally, then act on the runs. */
  async reconcile(id: string): Promise<ReconcileResult> {
    const name = queueLeaseName(id);
    let plan: QueuePlan | undefined;
    let runs = new Map<string, PipelineRun>();
    let maxWaitMs = 0;
    const present = await this.presentDespiteCache(id);
    await compareAndSwap(
      this.options.store,
      name,
      (current) => {
        // The runs and what was seen of them are read here, together, in one synchronous step: a run
        // observed after a snapshot of the cache but before the plan would look deleted.
        runs = this.runsOf(id);
        const views = new Map<string, QueuedRun>([...runs].map(([key, run]) => [key, queuedRunOf(run)]));
        const before = readableQueueState(current) ?? this.rebuild(runs, views);
        if (!before || !this.watches(before)) {
          plan = undefined;
          return undefined;
        }
        const settings = this.options.limits.current(before);
        maxWaitMs = settings.maxWaitMs;
        plan = planQueue({
          state: before,
          limit: settings.limit,
          runs: views,
          now: this.clock(),
          wallNow: new Date(this.wallClock()),
          absentSince: this.memory.absentSince(id),
          seen: this.memory.seen(id),
          present,
          ttlMs: this.options.ttlMs,
          maxWaitMs,
        });
        if (current && sameState(before, plan.state)) return undefined;
        return queueLease(current, plan.state, this.options.instance, new Date(this.wallClock()));
      },
      {
        hint: this.options.leases.get(this.options.store.namespace, name) as V1Lease | undefined,
        onConflict: () => this.options.metrics.conflicts.inc({ kind: queueLeaseKind }),
      },
    );
    if (!plan) return {};
    this.options.metrics.maxWait.set({ queue: plan.state.key }, maxWaitMs / 1000);

    // A run this process has just started may still look Pending in the cache: not started twice.
    plan.restart = plan.restart.filter((slot) => !this.starts.isRecent(slot.run, slot.fence));
    const { settled, started } = await applyQueuePlan(plan, runs, {
      writer: this.options.writer,
      events: this.options.events,
      metrics: this.options.metrics,
      logger: this.options.logger,
      ttlMs: this.options.ttlMs,
      now: this.wallClock,
    });
    for (const slot of started) this.starts.record(slot.run, slot.fence);
    this.memory.update(id, plan.absentSince, settled);
    if (plan.state.waiting.length > 0) this.waiting.schedule(id);
    return { requeueAfterMs: this.nextLook(plan, maxWaitMs) };
  }

  /**
   * The runs whose places are due to be taken back (missing from the cache for the TTL, never seen) that
   * the API server still has. At most maxReadsPerReconcile are read at once; the rest count as present
   * until a later look, so a flood of made-up admissions costs a bounded number of reads per look.
   */
  private async presentDespiteCache(id: string): Promise<Set<string>> {
    const present = new Set<string>();
    const exists = this.options.exists;
    const lease = this.options.leases.get(this.options.store.namespace, queueLeaseName(id));
    const state = readableQueueState(lease as V1Lease | undefined);
    if (!exists || !state) return present;
    const absentSince = this.memory.absentSince(id);
    const now = this.clock();
    // Only a run missed for the TTL can be due: most looks end here, without reading the queue's runs.
    const overdue = [...state.slots, ...state.waiting]
      .map((entry) => entry.run)
      .filter((run) => now - (absentSince.get(run) ?? now) >= this.options.ttlMs);
    if (overdue.length === 0) return present;
    const cached = this.runsOf(id);
    const seen = this.memory.seen(id);
    const due = overdue.filter((run) => !cached.has(run) && !seen.has(run));
    for (const run of due.slice(maxReadsPerReconcile)) present.add(run);
    await Promise.all(
      due.slice(0, maxReadsPerReconcile).map(async (run) => {
        const [namespace = "", name = ""] = run.split("/");
        // Unknown (forbidden, or the API server did not answer): keep the place; the TTL is not a deadline.
        const found = await exists(namespace, name).catch(() => undefined);
        if (found !== false) present.add(run);
      }),
    );
    return present;
  }

  /** Nothing in the cluster changes when a TTL or a maximum wait runs out: come back by then. */
  private nextLook(plan: QueuePlan, maxWaitMs: number): number | undefined {
    let next: number | undefined;
    if (plan.absentSince.size > 0) next = Math.max(1000, this.options.ttlMs / 4);
    const oldest = plan.state.waiting[0];
    if (maxWaitMs > 0 && oldest) {
      const due = Date.parse(oldest.enqueuedAt) + maxWaitMs - this.wallClock();
      next = sooner(next, Math.max(100, due + 50));
    }
    return next;
  }

  /** True when every run of the queue lives in a namespace this reconciler sees. */
  private watches(state: QueueState): boolean {
    // Judged on the state as read from the API server (a compare-and-swap may read past the cache).
    if (this.options.owns && !this.options.owns(state)) return false;
    const watched = this.options.watchedNamespaces;
    if (watched.length === 0) return true;
    return [...state.slots, ...state.waiting].every((entry) =>
      watched.includes(entry.run.split("/")[0] ?? ""),
    );
  }

  private rebuild(runs: Map<string, PipelineRun>, views: Map<string, QueuedRun>): QueueState | undefined {
    const sample = [...runs.values()][0];
    if (!sample) return undefined;
    const choice = this.options.limits.choose(
      {
        namespace: sample.metadata.namespace ?? "",
        name: sample.metadata.name,
        labels: sample.metadata.labels ?? {},
        annotations: sample.metadata.annotations ?? {},
      },
      false,
    );
    if (!choice.queued) return undefined;
    this.options.logger.warn(
      { queue: choice.key, runs: runs.size },
      "queue Lease missing: rebuilding the queue from its runs",
    );
    return rebuildQueueState(
      choice.key,
      choice.limit,
      choice.source,
      [...views.values()],
      new Date(this.wallClock()),
    );
  }
}
