import type { Counter } from "prom-client";
import { LeaseBatcher } from "../kube/lease-batcher.ts";
import type { LeaseAccess } from "../kube/leases.ts";
import { admitToQueue, type QueueAdmission } from "./admit-plan.ts";
import type { QueueChoice } from "./choose.ts";
import { emptyQueue, queueLease, queueLeaseKind, queueLeaseName, readQueueState } from "./state.ts";

type Queued = Extract<QueueChoice, { queued: true }>;

interface AdmitRequest {
  choice: Queued;
  run: string;
  now: Date;
}

/**
 * Admits runs to their queue at admission time: a ticket, and a slot at once when one is free and nobody
 * waits, in one compare-and-swap of the queue's Lease (shared by concurrent admissions of the same queue).
 */
export class QueueAdmitter {
  private readonly batcher: LeaseBatcher<AdmitRequest, QueueAdmission>;

  constructor(options: {
    store: LeaseAccess;
    instance: string;
    maxWaiting: number;
    conflicts: Counter<"kind">;
  }) {
    this.batcher = new LeaseBatcher({
      store: options.store,
      plan(current, requests) {
        const [first] = requests;
        if (!first) return { lease: undefined, results: [] };
        const stored =
          readQueueState(current) ?? emptyQueue(first.choice.key, first.choice.limit, first.choice.source);
        const { state, results } = admitToQueue(
          { ...stored, limit: first.choice.limit, source: first.choice.source },
          requests.map((r) => ({ run: r.run, now: r.now })),
          options.maxWaiting,
        );
        return { lease: queueLease(current, state, options.instance, first.now), results };
      },
      onConflict: () => options.conflicts.inc({ kind: queueLeaseKind }),
    });
  }

  admit(choice: Queued, run: string, signal: AbortSignal): Promise<QueueAdmission> {
    return this.batcher.submit(queueLeaseName(choice.id), { choice, run, now: new Date() }, signal);
  }

  preview(choice: Queued, run: string): Promise<QueueAdmission> {
    return this.batcher.preview(queueLeaseName(choice.id), { choice, run, now: new Date() });
  }
}
