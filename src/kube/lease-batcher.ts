import type { V1Lease } from "@kubernetes/client-node";
import { compareAndSwap, type LeaseAccess } from "./leases.ts";

interface Waiting<Request, Result> {
  request: Request;
  signal: AbortSignal;
  resolve(result: Result): void;
  reject(error: unknown): void;
  /** When it was submitted (performance.now()). */
  since: number;
}

export interface BatchPlan<Result> {
  /** The Lease to write (undefined: write nothing, the results stand as they are). */
  lease: V1Lease | undefined;
  /** One result per request, in order. */
  results: Result[];
}

/** Refused at once: too many Leases already wait for a write in this process (see maxLeasesInFlight). */
export class ShedError extends Error {
  constructor(why: string) {
    super(`shed: ${why}`);
    this.name = "ShedError";
  }
}

export interface LeaseBatcherOptions<Request, Result> {
  store: LeaseAccess;
  /** Decides a batch against the current Lease; may run several times (after conflicts). Must not modify `current`. */
  plan(current: V1Lease | undefined, requests: Request[], leaseName: string): BatchPlan<Result>;
  onConflict?(): void;
  onCommit?(batchSize: number): void;
  maxBatch?: number;
  /**
   * At most this many Leases wait for or undergo a write at once; a request for yet another Lease is
   * refused at once (ShedError) rather than queued, so that when the API server cannot keep up, waiting
   * stays bounded. Requests for a Lease already in flight join its batch (they cost no extra write).
   */
  maxLeasesInFlight?: number;
  /**
   * A request for a Lease whose oldest waiting request has waited this long is refused at once
   * (ShedError): the API server is not keeping up, and joining the line would only end at the caller's
   * deadline. Unset: no limit.
   */
  maxWaitMs?: number;
  /** A monotonic clock in ms (tests). */
  now?: () => number;
}

/**
 * Group commit on Leases: concurrent requests for one Lease in this process wait for each other and share
 * one compare-and-swap write. A burst costs a few round trips instead of a chain of conflicting writes;
 * uniqueness across processes still comes from the conditional write alone.
 */
export class LeaseBatcher<Request, Result> {
  private readonly waiting = new Map<string, Waiting<Request, Result>[]>();
  private readonly flushing = new Set<string>();
  /** The Lease this process last wrote, per name, tried before reading; bounded. */
  private readonly hints = new Map<string, V1Lease>();
  private readonly options: LeaseBatcherOptions<Request, Result>;

  constructor(options: LeaseBatcherOptions<Request, Result>) {
    this.options = options;
  }

  /** Leases with requests waiting or a write under way. */
  get leasesInFlight(): number {
    return new Set([...this.waiting.keys(), ...this.flushing]).size;
  }

  submit(leaseName: string, request: Request, signal: AbortSignal): Promise<Result> {
    const now = (this.options.now ?? performance.now.bind(performance))();
    const shed = this.shedding(leaseName, now);
    if (shed) return Promise.reject(new ShedError(shed));
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(leaseName) ?? [];
      queue.push({ request, signal, resolve, reject, since: now });

      this.waiting.set(leaseName, queue);
      if (!this.flushing.has(leaseName)) void this.flush(leaseName);
    });
  }

  /** Why a request for this Lease should be refused at once, or undefined. */
  private shedding(leaseName: string, now: number): string | undefined {
    const { maxLeasesInFlight, maxWaitMs } = this.options;
    const queue = this.waiting.get(leaseName);
    if (queue === undefined && !this.flushing.has(leaseName)) {
      const inFlight = this.leasesInFlight;
      if (maxLeasesInFlight !== undefined && inFlight >= maxLeasesInFlight)
        return `${inFlight} Lease writes already in flight in this process`;
      return undefined;
    }
    const oldest = queue?.[0];
    if (maxWaitMs !== undefined && oldest && now - oldest.since >= maxWaitMs)
      return `the requests for Lease ${leaseName} have waited ${Math.round(now - oldest.since)} ms for a write`;
    return undefined;
  }

  /** What a request would get now, without writing (dry runs). */

  async preview(leaseName: string, request: Request): Promise<Result> {
    const [result] = this.options.plan(await this.options.store.get(leaseName), [request], leaseName).results;
    if (result === undefined) throw new Error("the plan returned no result");
    return result;
  }

  /** Forgets the cached copy of a Lease (after someone else changed it, e.g. the reconciler). */
  forget(leaseName: string): void {
    this.hints.delete(leaseName);
  }

  private async flush(leaseName: string): Promise<void> {
    this.flushing.add(leaseName);
    try {
      for (;;) {
        const batch = (this.waiting.get(leaseName) ?? [])
          .splice(0, this.options.maxBatch ?? 200)
          .filter((w) => {
            if (!w.signal.aborted) return true;
            w.reject(w.signal.reason);
            return false;
          });
        if (batch.length === 0) break;
        await this.commit(leaseName, batch);
      }
    } finally {
      this.flushing.delete(leaseName);
      this.waiting.delete(leaseName);
    }
  }

  private async commit(leaseName: string, batch: Waiting<Request, Result>[]): Promise<void> {
    let results: Result[] = [];
    // The batch gives up only when every waiter has given up.
    const controller = new AbortController();
    const onAbort = () => {
      if (batch.every((w) => w.signal.aborted)) controller.abort(new Error("every waiting request gave up"));
    };
    for (const w of batch) w.signal.addEventListener("abort", onAbort, { once: true });
    try {
      const written = await compareAndSwap(
        this.options.store,
        leaseName,
        (current) => {
          const plan = this.options.plan(
            current,
            batch.map((w) => w.request),
            leaseName,
          );
          results = plan.results;
          return plan.lease;
        },
        { signal: controller.signal, hint: this.hints.get(leaseName), onConflict: this.options.onConflict },
      );
      this.remember(leaseName, written);
      this.options.onCommit?.(batch.length);
      batch.forEach((w, i) => {
        const result = results[i];
        if (result !== undefined) w.resolve(result);
        else w.reject(new Error("result missing from batch"));
      });
    } catch (error) {
      this.hints.delete(leaseName);
      for (const w of batch) w.reject(error);
    } finally {
      for (const w of batch) w.signal.removeEventListener("abort", onAbort);
    }
  }

  private remember(leaseName: string, lease: V1Lease | undefined): void {
    if (!lease) return;
    this.hints.delete(leaseName);
    this.hints.set(leaseName, lease);
    if (this.hints.size > 10_000) {
      const oldest = this.hints.keys().next().value;
      if (oldest !== undefined) this.hints.delete(oldest);
    }
  }
}
