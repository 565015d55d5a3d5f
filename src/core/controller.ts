import { type BackoffPolicy, backoffDelay } from "../kube/backoff.ts";
import type { EventSink } from "../kube/event-recorder.ts";
import type { InformerEvent } from "../kube/informer.ts";
import type { Logger } from "../observability/logger.ts";
import type { ControllerMetrics, ReconcileOutcome } from "./controller-metrics.ts";
import { WorkQueue } from "./work-queue.ts";

/** A failure that passes: back off by the key's failures in a row under `policy`, at least `atLeastMs`. */
export interface Retry {
  policy: BackoffPolicy;
  /** What the other side asked for (Retry-After), ms. */
  atLeastMs?: number;
}

/**
 * What a reconcile asks for next: to be called again after this long (a timer), and whether it failed in
 * a way that passes (`retry`: the shell backs off, counting the key's failures in a row; the sooner of
 * the two wins). A result without `retry` ends the key's run of failures.
 */
export interface ReconcileResult {
  requeueAfterMs?: number;
  retry?: Retry;
}

/**
 * Thrown by a reconcile for an object it cannot bring where it should be, whatever it retries (the API
 * server refuses the object as invalid, say): said once — an error log line and, when `event` names the
 * object, a Warning Event on it — and never retried. A later change of the object enqueues it again.
 */
export class TerminalError extends Error {
  readonly event?: { namespace: string; objectName: string; reason: string };

  constructor(message: string, event?: TerminalError["event"]) {
    super(message);
    this.name = "TerminalError";
    this.event = event;
  }
}

/** Retries of a reconcile that threw: 100 ms doubling to 30 s, with jitter. */
const thrownPolicy: BackoffPolicy = { baseMs: 100, capMs: 30_000 };

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
   * when to come back; throwing retries the key with backoff, unless it throws a TerminalError.
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
 * key), every requeue — timers, backoff of failures that pass (`retry`) and of reconciles that throw,
 * counted per key as controller-runtime's rate limiter does — terminal errors, waiting for caches,
 * metrics, and leader gating: it works only between run(signal) and the signal's abort, and drops what
 * it is told outside that term. A controller is then only reconcile(key) → { requeueAfterMs?, retry? }.
 */
export class Controller {
  private readonly options: ControllerOptions;
  private work: WorkQueue | undefined;
  /** The work queue of the last term that ended, whose reconciles may still be running. */
  private ended: WorkQueue | undefined;
  /** Failures in a row of each key, for backoff; gone with a reconcile that ends without one. */
  private readonly failures = new Map<string, number>();
  private metrics: ControllerMetrics | undefined;
  private events: EventSink | undefined;

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

  /** Counts reconciles in `metrics` and records terminal errors' Events in `events` (the composition root's). */
  instrument(parts: { metrics?: ControllerMetrics; events?: EventSink }): void {
    this.metrics = parts.metrics;
    this.events = parts.events;
  }

  /** Reconcile this key soon; ignored outside a term (the next term starts from every key anyway). */
  enqueue(key: string): void {
    this.work?.add(key);
  }

  /**
   * Reconcile this key for an informer's event: a resync (nothing changed) waits behind every change, so
   * a periodic sweep of every key never delays one that changed.
   */
  enqueueFor(key: string, event: InformerEvent): void {
    if (event === "resync") this.work?.addInBackground(key);
    else this.work?.add(key);
  }

  /** Reconcile this key after a delay; the earliest of several requests wins. */
  enqueueAfter(key: string, delayMs: number): void {
    this.work?.addAfter(key, delayMs);
  }

  /** Starts a term: waits for the caches, then reconciles every initial key and whatever is enqueued. */
  run(signal: AbortSignal): void {
    if (signal.aborted) return;
    const { caches, logger, name } = this.options;
    const synced = Promise.all(caches.map((cache) => cache.whenSynced()));
    this.failures.clear();
    const work: WorkQueue = new WorkQueue({
      name,
      concurrency: this.options.concurrency,
      logger,
      handler: async (key) => {
        if (!caches.every((cache) => cache.synced)) await synced;
        if (signal.aborted) return;
        const next = await this.reconcileOnce(key);
        if (next !== undefined && !signal.aborted) work.addAfter(key, Math.max(0, next));
      },
    });
    this.work = work;
    this.metrics?.track(name, () => work.depth);
    void synced.then(() => {
      if (signal.aborted) return;
      // Every key, behind whatever changed meanwhile.
      for (const key of this.options.initialKeys()) work.addInBackground(key);
    });
    signal.addEventListener(
      "abort",
      () => {
        work.stop();
        this.ended = work;
        if (this.work === work) {
          this.work = undefined;
          this.metrics?.track(name, undefined);
        }
      },
      { once: true },
    );
  }

  /** Resolves when nothing is waiting or running (tests). */
  async idle(): Promise<void> {
    await this.work?.idle();
  }

  /** Resolves when no reconcile of an ended term is still running: its writes are over. */
  async settled(): Promise<void> {
    await this.ended?.idle();
  }

  /** One reconcile, its outcome counted; returns when to come back (ms), if at all. */
  private async reconcileOnce(key: string): Promise<number | undefined> {
    const started = performance.now();
    const { outcome, next } = await this.outcomeOf(key);
    this.metrics?.observe(this.options.name, outcome, (performance.now() - started) / 1000);
    return next;
  }

  private async outcomeOf(key: string): Promise<{ outcome: ReconcileOutcome; next?: number }> {
    const { logger, name } = this.options;
    try {
      const result = await this.options.reconcile(key);
      if (!result?.retry) {
        this.failures.delete(key);
        const next = result?.requeueAfterMs;
        return { outcome: next === undefined ? "success" : "requeue_after", next };
      }
      const { policy, atLeastMs = 0 } = result.retry;
      const backoff = Math.max(atLeastMs, backoffDelay(this.failed(key), policy));
      return { outcome: "retry", next: sooner(backoff, result.requeueAfterMs) };
    } catch (error) {
      if (error instanceof TerminalError) {
        this.failures.delete(key);
        logger.error({ err: error, controller: name, key }, "reconcile cannot succeed; not retried");
        if (error.event)
          this.events?.record({ ...error.event, message: error.message.slice(0, 1024), type: "Warning" });
        return { outcome: "terminal" };
      }
      const next = backoffDelay(this.failed(key), thrownPolicy);
      logger.warn({ err: error, controller: name, key, retryInMs: next }, "reconcile failed");
      return { outcome: "error", next };
    }
  }

  /** Counts one more failure of `key` in a row; returns how many. */
  private failed(key: string): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    return failures;
  }
}
