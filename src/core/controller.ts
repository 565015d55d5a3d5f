import type { Logger } from "../observability/logger.ts";
import { WorkQueue } from "./work-queue.ts";

/** What a reconcile asks for next: to be called again after this long (a timer, a retry), or nothing. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

/** The smaller of two requeues (undefined: none). */
export function sooner(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/** A cache the shell waits for before the first reconcile. */
export interface SyncedCache {
  readonly synced: boolean;
  whenSynced(): Promise<void>;
}

export interface ControllerOptions {
  name: string;
  /**
   * Brings one key's part of the cluster to what it should be, from the caches (level-based). Returns
   * when to come back; throwing retries the key with backoff.
   */
  reconcile(key: string): Promise<ReconcileResult | undefined> | ReconcileResult | undefined;
  /** Caches that must be synced before any reconcile. */
  caches: readonly SyncedCache[];
  /** Every key worth a look when a term starts (a new leader starts from all of them). */
  initialKeys(): Iterable<string>;
  /** Keys reconciled side by side (never the same key twice at once). */
  concurrency: number;
  logger: Logger;
}

/**
 * The shell every controller runs in: it owns the work queue (dedup, one key at a time, one timer per
 * key), the backoff of reconciles that throw (WorkQueue), waiting for caches, and leader gating: it
 * works only between run(signal) and the signal's abort, and drops what it is told outside that term.
 * A controller is then only reconcile(key) → { requeueAfterMs? }.
 */
export class Controller {
  private readonly options: ControllerOptions;
  private work: WorkQueue | undefined;

  constructor(options: ControllerOptions) {
    this.options = options;
  }

  get name(): string {
    return this.options.name;
  }

  /** True during a term (between run and the abort of its signal). */
  get running(): boolean {
    return this.work !== undefined;
  }

  /** Reconcile this key soon; ignored outside a term (the next term starts from every key anyway). */
  enqueue(key: string): void {
    this.work?.add(key);
  }

  /** Reconcile this key after a delay; the earliest of several requests wins. */
  enqueueAfter(key: string, delayMs: number): void {
    this.work?.addAfter(key, delayMs);
  }

  /** Starts a term: waits for the caches, then reconciles every initial key and whatever is enqueued. */
  run(signal: AbortSignal): void {
    if (signal.aborted) return;
    const { caches, reconcile, logger, name } = this.options;
    const synced = Promise.all(caches.map((cache) => cache.whenSynced()));
    const work: WorkQueue = new WorkQueue({
      name,
      concurrency: this.options.concurrency,
      logger,
      handler: async (key) => {
        if (!caches.every((cache) => cache.synced)) await synced;
        if (signal.aborted) return;
        const result = await reconcile(key);
        if (result?.requeueAfterMs !== undefined && !signal.aborted)
          work.addAfter(key, Math.max(0, result.requeueAfterMs));
      },
    });
    this.work = work;
    void synced.then(() => {
      if (signal.aborted) return;
      for (const key of this.options.initialKeys()) work.add(key);
    });
    signal.addEventListener(
      "abort",
      () => {
        work.stop();
        if (this.work === work) this.work = undefined;
      },
      { once: true },
    );
  }

  /** Resolves when nothing is waiting or running (tests). */
  async idle(): Promise<void> {
    await this.work?.idle();
  }
}
