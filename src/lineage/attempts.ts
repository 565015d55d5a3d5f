import type { V1Lease } from "@kubernetes/client-node";
import { Counter, Histogram, type Registry } from "prom-client";
import { compareAndSwap, type LeaseAccess, microTime } from "../kube/leases.ts";
import type { Logger } from "../observability/logger.ts";
import { type Allocation, type AttemptRequest, type CounterRecord, planAllocations } from "./attempt-plan.ts";
import type { Lineage } from "./lineage.ts";
import { admissionKeys, leaseLabels, prefix } from "./vocabulary.ts";

export const attemptLeaseKind = "attempts";
const lastKey = `${prefix}last-attempt`;
const lastNameKey = `${prefix}last-name`;
const namespaceKey = `${prefix}namespace`;

export function attemptLeaseName(lineageId: string): string {
  return `tl-attempts-${lineageId}`;
}

export function readRecord(lease: V1Lease | undefined): CounterRecord {
  const annotations = lease?.metadata?.annotations ?? {};
  const last = Number(annotations[lastKey] ?? 0);
  return {
    last: Number.isSafeInteger(last) && last > 0 ? last : 0,
    lastName: annotations[lastNameKey],
    lineageKey: annotations[admissionKeys.lineage],
  };
}

interface Waiting {
  request: AttemptRequest;
  signal: AbortSignal;
  resolve(allocation: Allocation): void;
  reject(error: unknown): void;
}

export interface AttemptMetrics {
  allocations: Counter;
  conflicts: Counter;
  batchSize: Histogram;
}

export function createAttemptMetrics(registry: Registry): AttemptMetrics {
  return {
    allocations: new Counter({
      name: "tekton_lineage_attempts_allocated_total",
      help: "Attempt numbers handed out at admission.",
      registers: [registry],
    }),
    conflicts: new Counter({
      name: "tekton_lineage_lease_conflicts_total",
      help: "Lease writes that lost an optimistic-concurrency race and were retried, by lease kind.",
      labelNames: ["kind"],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: "tekton_lineage_attempt_batch_size",
      help: "Allocations served by one Lease write (concurrent creates of one lineage share a write).",
      buckets: [1, 2, 5, 10, 20, 50, 100, 200],
      registers: [registry],
    }),
  };
}

/**
 * Attempt numbers per lineage, kept in one Lease per lineage (tl-attempts-<lineage id>) and changed
 * only by compare-and-swap, so they are unique across webhook replicas and restarts. Concurrent requests
 * for one lineage in this process share one Lease write (group commit): a burst of creates costs a few
 * round trips, not one conflict-retry chain per create.
 */
export class AttemptAllocator {
  private readonly waiting = new Map<string, Waiting[]>();
  private readonly flushing = new Set<string>();
  /** Last Lease this process wrote per lineage, tried first; bounded. */
  private readonly hints = new Map<string, V1Lease>();
  private readonly store: LeaseAccess;
  private readonly instance: string;
  private readonly metrics: AttemptMetrics;
  private readonly logger: Logger;

  constructor(options: { store: LeaseAccess; instance: string; metrics: AttemptMetrics; logger: Logger }) {
    this.store = options.store;
    this.instance = options.instance;
    this.metrics = options.metrics;
    this.logger = options.logger;
  }

  /** Reserves the next attempt of the lineage. */
  allocate(lineage: Lineage, nameFor: (attempt: number) => string, signal: AbortSignal): Promise<Allocation> {
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(lineage.id) ?? [];
      queue.push({ request: { lineageKey: lineage.key, nameFor }, signal, resolve, reject });
      this.waiting.set(lineage.id, queue);
      if (!this.flushing.has(lineage.id)) void this.flush(lineage);
    });
  }

  /** What the next attempt would be, without reserving it (dry runs). */
  async preview(lineage: Lineage, nameFor: (attempt: number) => string): Promise<Allocation> {
    const record = readRecord(await this.store.get(attemptLeaseName(lineage.id)));
    const [allocation] = planAllocations(record, [{ lineageKey: lineage.key, nameFor }]).allocations;
    if (!allocation) throw new Error("no allocation planned");
    return allocation;
  }

  private async flush(lineage: Lineage): Promise<void> {
    this.flushing.add(lineage.id);
    try {
      for (;;) {
        const batch = (this.waiting.get(lineage.id) ?? []).splice(0, 200).filter((w) => {
          if (!w.signal.aborted) return true;
          w.reject(w.signal.reason);
          return false;
        });
        if (batch.length === 0) break;
        await this.commit(lineage, batch);
      }
    } finally {
      this.flushing.delete(lineage.id);
      this.waiting.delete(lineage.id);
    }
  }

  private async commit(lineage: Lineage, batch: Waiting[]): Promise<void> {
    const name = attemptLeaseName(lineage.id);
    let allocations: Allocation[] = [];
    // The batch gives up only when every waiter has given up.
    const controller = new AbortController();
    const onAbort = () => {
      if (batch.every((w) => w.signal.aborted))
        controller.abort(new Error("every waiting admission gave up"));
    };
    for (const w of batch) w.signal.addEventListener("abort", onAbort, { once: true });
    try {
      const now = new Date();
      const written = await compareAndSwap(
        this.store,
        name,
        (current) => {
          const plan = planAllocations(
            readRecord(current),
            batch.map((w) => w.request),
          );
          allocations = plan.allocations;
          return counterLease(current, lineage, plan.record, this.instance, now);
        },
        {
          signal: controller.signal,
          hint: this.hints.get(lineage.id),
          onConflict: () => this.metrics.conflicts.inc({ kind: attemptLeaseKind }),
        },
      );
      this.remember(lineage.id, written);
      this.metrics.allocations.inc(allocations.length);
      this.metrics.batchSize.observe(allocations.length);
      batch.forEach((w, i) => {
        const allocation = allocations[i];
        if (allocation) w.resolve(allocation);
        else w.reject(new Error("allocation missing from batch"));
      });
    } catch (error) {
      this.hints.delete(lineage.id);
      this.logger.warn(
        { err: error, lineage: lineage.key, batch: batch.length },
        "attempt allocation failed",
      );
      for (const w of batch) w.reject(error);
    } finally {
      for (const w of batch) w.signal.removeEventListener("abort", onAbort);
    }
  }

  private remember(lineageId: string, lease: V1Lease | undefined): void {
    if (!lease) return;
    this.hints.delete(lineageId);
    this.hints.set(lineageId, lease);
    if (this.hints.size > 10_000) {
      const oldest = this.hints.keys().next().value;
      if (oldest !== undefined) this.hints.delete(oldest);
    }
  }
}

function counterLease(
  current: V1Lease | undefined,
  lineage: Lineage,
  record: CounterRecord,
  instance: string,
  now: Date,
): V1Lease {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      ...current?.metadata,
      labels: {
        ...current?.metadata?.labels,
        [leaseLabels.managedBy]: leaseLabels.managedByValue,
        [leaseLabels.kind]: attemptLeaseKind,
        [admissionKeys.lineageId]: lineage.id,
      },
      annotations: {
        ...current?.metadata?.annotations,
        [admissionKeys.lineage]: record.lineageKey ?? lineage.key,
        [namespaceKey]: lineage.parts.namespace ?? "",
        [lastKey]: String(record.last),
        [lastNameKey]: record.lastName ?? "",
      },
    },
    spec: { ...current?.spec, holderIdentity: instance, renewTime: microTime(now) },
  };
}
