import type { V1Lease } from "@kubernetes/client-node";
import { Counter, Histogram, type Registry } from "prom-client";
import { bucketOf } from "../core/buckets.ts";
import { ownedLease } from "../core/owned-lease.ts";
import { admissionKeys, leaseKeys, leaseLabels } from "../core/vocabulary.ts";
import { LeaseBatcher, ShedError } from "../kube/lease-batcher.ts";
import { compareAndSwap, type LeaseAccess } from "../kube/leases.ts";
import type { Logger } from "../observability/logger.ts";
import {
  type AdmittedRunRecord,
  type Allocation,
  type AttemptRequest,
  type CounterRecord,
  type EarlierAttempt,
  earlierKept,
  planAllocations,
} from "./attempt-plan.ts";
import type { Lineage } from "./lineage.ts";
import { LineageBudgetError, type NewLineageBudget } from "./new-lineage-budget.ts";

export const attemptLeaseKind = "attempts";

export function attemptLeaseName(lineageId: string): string {
  return `tl-attempts-${lineageId}`;
}

export function readRecord(lease: V1Lease | undefined): CounterRecord {
  const annotations = lease?.metadata?.annotations ?? {};
  const last = Number(annotations[leaseKeys.lastAttempt] ?? 0);
  return {
    last: Number.isSafeInteger(last) && last > 0 ? last : 0,
    lastName: annotations[leaseKeys.lastName],
    lineageKey: annotations[admissionKeys.lineage],
    lastSubject: parseSnapshot(annotations[leaseKeys.lastSubject]),
    fallenBack: (annotations[leaseKeys.fallenBack] ?? "")
      .split(",")
      .map(Number)
      .filter((n) => Number.isSafeInteger(n) && n > 0),
    earlier: parseEarlier(annotations[leaseKeys.earlierAttempts]),
  };
}

export interface AttemptMetrics {
  allocations: Counter;
  /** Allocations refused at once because too many Lease writes were in flight (overload). */
  shed: Counter;
  /** New lineages refused because their namespace, or all together, were over budget. */
  newRefused: Counter;
  conflicts: Counter<"kind">;
  batchSize: Histogram;
}

/** Attempt metrics; `conflicts` is shared with the other Lease writers of the process. */
export function createAttemptMetrics(registry: Registry, conflicts: Counter<"kind">): AttemptMetrics {
  return {
    allocations: new Counter({
      name: "tekton_lineage_attempts_allocated_total",
      help: "Attempt numbers handed out at admission.",
      registers: [registry],
    }),
    shed: new Counter({
      name: "tekton_lineage_attempts_shed_total",
      help: "Admissions that fell back at once, without waiting, because too many Lease writes were in flight (the API server could not keep up).",
      registers: [registry],
    }),
    newRefused: new Counter({
      name: "tekton_lineage_new_lineages_refused_total",
      help: "Admissions that fell back at once because their namespace (or all namespaces together) had started as many new lineages this minute as --max-new-lineages-per-namespace (--max-new-lineages) allow.",
      registers: [registry],
    }),
    conflicts,
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
  private readonly batcher: LeaseBatcher<
    { lineage: Lineage; request: AttemptRequest; preview?: true },
    Allocation
  >;
  private readonly logger: Logger;
  private readonly store: LeaseAccess;

  private readonly metrics: AttemptMetrics;

  constructor(options: {
    store: LeaseAccess;
    instance: string;
    metrics: AttemptMetrics;
    logger: Logger;
    /** Lineages whose counter may wait for a write at once; beyond, an admission falls back at once. */
    maxLeasesInFlight?: number;
    /** How long the requests of one lineage may wait for its write; beyond, an admission falls back at once. */
    maxWaitMs?: number;
    /** How many new lineages (counters created) may start; over it, an admission falls back at once. */
    newLineages?: NewLineageBudget;
    /** --buckets: a counter is labelled with its runs' bucket, so their replica caches only its own. */
    buckets?: number;
  }) {
    const { instance, metrics } = options;
    const buckets = options.buckets ?? 1;
    this.metrics = metrics;
    this.store = options.store;
    this.batcher = new LeaseBatcher({
      store: options.store,
      plan(current, requests) {
        const [first] = requests;
        // A counter to create is a new Lease in tekton-lineage's namespace: only within the budget.
        const namespace = first?.lineage.parts.namespace ?? "";
        if (
          !current &&
          first &&
          !first.preview &&
          options.newLineages &&
          !options.newLineages.take(namespace)
        )
          throw new LineageBudgetError(namespace);
        const plan = planAllocations(
          readRecord(current),
          requests.map((r) => r.request),
        );
        return {
          lease: first
            ? counterLease(current, first.lineage, plan.record, instance, new Date(), buckets)
            : undefined,
          results: plan.allocations,
        };
      },
      onConflict: () => metrics.conflicts.inc({ kind: attemptLeaseKind }),
      onCommit: (size) => {
        metrics.allocations.inc(size);
        metrics.batchSize.observe(size);
      },
      maxLeasesInFlight: options.maxLeasesInFlight,
      maxWaitMs: options.maxWaitMs,
    });
    this.logger = options.logger;
  }

  /** Reserves the next attempt of the lineage; `subject` is kept in case the run never gets created. */
  async allocate(
    lineage: Lineage,
    nameFor: (attempt: number) => string,
    signal: AbortSignal,
    subject?: AdmittedRunRecord,
  ): Promise<Allocation> {
    try {
      return await this.batcher.submit(
        attemptLeaseName(lineage.id),
        { lineage, request: { lineageKey: lineage.key, nameFor, subject } },
        signal,
      );
    } catch (error) {
      if (error instanceof LineageBudgetError) this.metrics.newRefused.inc();
      else if (error instanceof ShedError) this.metrics.shed.inc();
      else this.logger.warn({ err: error, lineage: lineage.key }, "attempt allocation failed");
      throw error;
    }
  }

  /**
   * The admission of this attempt fell back (it missed the deadline) after its counter write committed:
   * the run was created without its name and claims. Recorded on the counter, so the attempt is never
   * reported as never created. The last ten are kept.
   */
  async markFallenBack(lineageId: string, attempt: number): Promise<void> {
    const name = attemptLeaseName(lineageId);
    await compareAndSwap(this.store, name, (current) => {
      if (!current) return undefined;
      const record = readRecord(current);
      if (record.fallenBack?.includes(attempt)) return undefined;
      const fallenBack = [...(record.fallenBack ?? []), attempt].slice(-10).join(",");
      return {
        ...current,
        metadata: {
          ...current.metadata,
          annotations: { ...current.metadata?.annotations, [leaseKeys.fallenBack]: fallenBack },
        },
      };
    });
    this.batcher.forget(name);
  }

  /** What the next attempt would be, without reserving it (dry runs). */
  preview(lineage: Lineage, nameFor: (attempt: number) => string): Promise<Allocation> {
    return this.batcher.preview(attemptLeaseName(lineage.id), {
      lineage,
      request: { lineageKey: lineage.key, nameFor },
      preview: true,
    });
  }
}

function counterLease(
  current: V1Lease | undefined,
  lineage: Lineage,
  record: CounterRecord,
  instance: string,
  now: Date,
  buckets: number,
): V1Lease {
  return ownedLease(
    current,
    attemptLeaseKind,
    {
      labels: {
        [leaseLabels.lineageId]: lineage.id,
        [leaseLabels.runNamespace]: lineage.parts.namespace ?? "",
        [leaseLabels.bucket]: bucketOf(lineage.parts.namespace ?? "", buckets),
      },
      annotations: {
        [admissionKeys.lineage]: record.lineageKey ?? lineage.key,
        [leaseKeys.namespace]: lineage.parts.namespace ?? "",
        [leaseKeys.lastAttempt]: String(record.last),
        [leaseKeys.lastName]: record.lastName ?? "",
        ...(record.lastSubject ? { [leaseKeys.lastSubject]: JSON.stringify(record.lastSubject) } : {}),
        ...(record.fallenBack?.length ? { [leaseKeys.fallenBack]: record.fallenBack.join(",") } : {}),
        ...(record.earlier?.length ? { [leaseKeys.earlierAttempts]: JSON.stringify(record.earlier) } : {}),
      },
    },
    instance,
    now,
  );
}

function parseEarlier(text: string | undefined): EarlierAttempt[] {
  if (!text) return [];
  try {
    const value = JSON.parse(text) as unknown;
    if (!Array.isArray(value)) return [];
    return value
      .filter(
        (e): e is EarlierAttempt =>
          typeof e?.attempt === "number" && Number.isSafeInteger(e.attempt) && typeof e.name === "string",
      )
      .slice(0, earlierKept);
  } catch {
    return [];
  }
}

function parseSnapshot(text: string | undefined): AdmittedRunRecord | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as AdmittedRunRecord;
    return typeof value.namespace === "string" && typeof value.annotations === "object" ? value : undefined;
  } catch {
    return undefined;
  }
}
