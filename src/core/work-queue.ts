import type { Logger } from "../observability/logger.ts";

/**
 * Keys to reconcile, each processed by one worker at a time (never two reconciles of the same key at
 * once), deduplicated while waiting, and processed again when added during its own reconcile. A key has
 * at most one timer: of two delayed adds the earlier wins, since a reconcile is level-based and asks
 * again for what it still needs. (Timers that piled up per key used to multiply the retries of a failing
 * key, and with them its backoff.) What a failure means — retry, backoff, give up — is the controller
 * shell's (controller.ts); the handler is expected not to throw.
 *
 * Two lanes: keys added because something changed come first; keys added in the background (an
 * informer's periodic resync, every key at the start of a term) wait behind them, so a sweep of a
 * hundred thousand unchanged keys never delays the report or promotion of one that changed. A key added
 * in the foreground while it waits in the background moves up. So that a steady stream of changes
 * cannot starve the background (a term's first look at every queue), one start in `backgroundShare`
 * goes to it while both lanes wait.
 */
/** While both lanes have keys waiting, one start in this many goes to the background. */
const backgroundShare = 16;

export class WorkQueue {
  /** Keys waiting, in the order they came (a Set keeps insertion order: taking the first is O(1)). */
  private readonly pending = new Set<string>();
  /** Keys waiting in the background, behind every pending one. */
  private readonly background = new Set<string>();
  /** Foreground starts since the background's last, while it had keys waiting. */
  private sinceBackground = 0;
  /** Reconciles finished since the queue last let the event loop run (timers, I/O, Lease renewals). */
  private sinceYield = 0;
  /** A turn of the event loop is awaited: nothing new starts until it came. */
  private yielding = false;
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private idleWaiters: (() => void)[] = [];
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private running = 0;
  private stopped = false;
  private readonly handler: (key: string) => Promise<void>;
  private readonly concurrency: number;
  private readonly logger: Logger;
  private readonly name: string;

  constructor(options: {
    name: string;
    concurrency: number;
    handler: (key: string) => Promise<void>;
    logger: Logger;
  }) {
    this.name = options.name;
    this.concurrency = options.concurrency;
    this.handler = options.handler;
    this.logger = options.logger;
  }

  get depth(): number {
    return this.pending.size + this.background.size;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.pending.has(key)) return;
    this.background.delete(key);
    this.pending.add(key);
    this.pump();
  }

  /**
   * Adds the key behind every key added in the foreground. Nothing changed for it (a resync): if it is
   * being reconciled now, that reconcile sees what there is, so it is not run again.
   */
  addInBackground(key: string): void {
    if (this.stopped || this.active.has(key) || this.pending.has(key) || this.background.has(key)) return;
    this.background.add(key);
    this.pump();
  }

  /** Adds the key after a delay (a retry, or a timer such as a TTL running out); the earliest timer wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    const at = performance.now() + Math.max(0, delayMs);
    const scheduled = this.timers.get(key);
    if (scheduled && scheduled.at <= at) return;
    if (scheduled) clearTimeout(scheduled.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** When the key's timer fires, in ms from now; undefined when none is set (for tests and views). */
  scheduledIn(key: string): number | undefined {
    const scheduled = this.timers.get(key);
    return scheduled ? Math.max(0, scheduled.at - performance.now()) : undefined;
  }

  stop(): void {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.pending.clear();
    this.background.clear();
    this.settle();
  }

  /** Resolves when nothing is pending or running (for tests and shutdown); timers do not count. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return this.running === 0 && (this.depth === 0 || this.stopped);
  }

  /** Wakes whoever waits in idle() once the queue is idle. */
  private settle(): void {
    if (!this.isIdle() || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private pump(): void {
    if (this.yielding) return;
    while (!this.stopped && this.running < this.concurrency && this.depth > 0) {
      const lane = this.nextLane();
      const key = lane.values().next().value as string;
      lane.delete(key);
      this.running += 1;
      this.active.add(key);
      void this.process(key);
    }
  }

  /** The foreground, but the background's turn once in `backgroundShare` starts while both wait. */
  private nextLane(): Set<string> {
    if (this.background.size === 0) return this.pending;
    if (this.pending.size === 0 || ++this.sinceBackground >= backgroundShare) {
      this.sinceBackground = 0;
      return this.background;
    }
    return this.pending;
  }

  private async process(key: string): Promise<void> {
    try {
      await this.handler(key);
    } catch (error) {
      // The controller shell catches what a reconcile throws: this is a bug of the shell's.
      this.logger.error({ err: error, queue: this.name, key }, "work queue handler threw");
    } finally {
      this.active.delete(key);
      this.running -= 1;
      if (this.dirty.delete(key)) this.add(key);
      // Reconciles that finish without waiting on I/O would chain as microtasks and starve the event
      // loop (a term starting with 100k keys): every so often the next ones wait for a turn of it.
      if (++this.sinceYield >= 64 && !this.yielding) {
        this.sinceYield = 0;
        this.yielding = true;
        setImmediate(() => {
          this.yielding = false;
          this.pump();
        });
      } else this.pump();
      this.settle();
    }
  }
}
