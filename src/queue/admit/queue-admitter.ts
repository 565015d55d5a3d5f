import type { V1Lease } from "@kubernetes/client-node";
import type { Counter } from "prom-client";
import type { PipelineRun } from "../../core/tekton.ts";
import { LeaseBatcher } from "../../kube/lease-batcher.ts";
import { compareAndSwap, type LeaseAccess } from "../../kube/leases.ts";
import type { QueueChoice } from "../choose.ts";
import { queuedRunOf } from "../queued-run.ts";
import { rebuildQueueState } from "../rebuild.ts";
import {
  emptyQueue,
  maxQueueStateBytes,
  type QueueState,
  queueLease,
  queueLeaseKind,
  queueLeaseName,
  readableQueueState,
} from "../state.ts";
import { admitToQueue, type QueueAdmission } from "./admit-plan.ts";

type Queued = Extract<QueueChoice, { queued: true }>;

interface AdmitRequest {
  choice: Queued;
  run: string;
  now: Date;
  /** The queue rebuilt from its runs, when its Lease is missing or unreadable. */
  rebuilt?: QueueState;
}

/** The Lease holds no readable queue state: the queue must be rebuilt from its runs first. */
const needsRebuild = { outcome: "rebuild" } as const;
type PlanResult = QueueAdmission | typeof needsRebuild;

/**
 * Admits runs to their queue at admission time: a ticket, and a slot at once when one is free and nobody
 * waits, in one compare-and-swap of the queue's Lease (shared by concurrent admissions of the same queue).
 * A queue whose Lease is missing or unreadable is first rebuilt from its runs (found by label), so a lost
 * Lease never lets a run overtake the line or go past the limit.
 */
export class QueueAdmitter {
  private readonly batcher: LeaseBatcher<AdmitRequest, PlanResult>;
  private readonly store: LeaseAccess;
  private readonly instance: string;
  private readonly runsOfQueue: (queueId: string) => Promise<PipelineRun[]>;

  constructor(options: {
    store: LeaseAccess;
    instance: string;
    /** Most runs in line in one queue; its bytes are bounded by maxQueueStateBytes. */
    maxWaiting: number;
    conflicts: Counter<"kind">;
    /** The genuine runs that carry this queue's id (for a rebuild). */
    runsOfQueue: (queueId: string) => Promise<PipelineRun[]>;
  }) {
    this.store = options.store;
    this.instance = options.instance;
    this.runsOfQueue = options.runsOfQueue;
    this.batcher = new LeaseBatcher({
      store: options.store,
      plan(current, requests): { lease: V1Lease | undefined; results: PlanResult[] } {
        const [first] = requests;
        if (!first) return { lease: undefined, results: [] };
        const stored = readableQueueState(current) ?? requests.find((r) => r.rebuilt)?.rebuilt;
        if (!stored) return { lease: undefined, results: requests.map(() => needsRebuild) };
        const { state, results } = admitToQueue(
          { ...stored, limit: first.choice.limit, source: first.choice.source },
          requests.map((r) => ({ run: r.run, now: r.now })),
          { maxWaiting: options.maxWaiting, maxStateBytes: maxQueueStateBytes },
        );
        return { lease: queueLease(current, state, options.instance, first.now), results };
      },
      onConflict: () => options.conflicts.inc({ kind: queueLeaseKind }),
    });
  }

  async admit(choice: Queued, run: string, signal: AbortSignal): Promise<QueueAdmission> {
    const name = queueLeaseName(choice.id);
    const result = await this.batcher.submit(name, { choice, run, now: new Date() }, signal);
    if (result.outcome !== "rebuild") return result;
    const rebuilt = await this.rebuild(choice);
    const second = await this.batcher.submit(name, { choice, run, now: new Date(), rebuilt }, signal);
    if (second.outcome === "rebuild") throw new Error(`queue ${choice.key} could not be rebuilt`);
    return second;
  }

  async preview(choice: Queued, run: string): Promise<QueueAdmission> {
    const result = await this.batcher.preview(queueLeaseName(choice.id), { choice, run, now: new Date() });
    if (result.outcome !== "rebuild") return result;
    const rebuilt = await this.rebuild(choice);
    return (
      admitToQueue(rebuilt, [{ run, now: new Date() }], {
        maxWaiting: Number.POSITIVE_INFINITY,
        maxStateBytes: Number.POSITIVE_INFINITY,
      }).results[0] ?? {
        outcome: "full",
        waiting: 0,
        limit: choice.limit,
      }
    );
  }

  /**
   * An admission that fell back after its ticket was committed: the run was created without its queue
   * claims, so its place (a slot or one in line) is given back at once rather than after the queue's TTL.
   */
  async release(queueId: string, run: string): Promise<void> {
    const name = queueLeaseName(queueId);
    await compareAndSwap(this.store, name, (current) => {
      const state = readableQueueState(current);
      if (!state) return undefined;
      const slots = state.slots.filter((s) => s.run !== run);
      const waiting = state.waiting.filter((w) => w.run !== run);
      if (slots.length === state.slots.length && waiting.length === state.waiting.length) return undefined;
      return queueLease(current, { ...state, slots, waiting }, this.instance, new Date());
    });
    this.batcher.forget(name);
  }

  private async rebuild(choice: Queued): Promise<QueueState> {
    const runs = await this.runsOfQueue(choice.id);
    if (runs.length === 0) return emptyQueue(choice.key, choice.limit, choice.source);
    return rebuildQueueState(choice.key, choice.limit, choice.source, runs.map(queuedRunOf), new Date());
  }
}
