import { bucketIndexOf, bucketValue } from "../core/buckets.ts";
import type { Logger } from "../observability/logger.ts";

/** A cache that watches only some partition values (an Informer with partitionLabel). */
export interface PartitionedCache {
  setPartitions(values: readonly string[]): Promise<void>;
}

/**
 * The terms of a replica that shares buckets: a term is the time it reconciles one exact set of buckets.
 * The caches watch the buckets held (a bucket gained is listed while the current term goes on); on any
 * change the term ends, its reconciles are waited for, what the controllers see switches to the new set
 * (`owns`), and a new term starts from every key. Between terms nothing is reconciled, so no controller
 * ever acts on a bucket it no longer holds — nor reads a half-listed one.
 */
export class BucketTerms {
  private readonly options: {
    count: number;
    caches: readonly PartitionedCache[];
    /** Starts every bucketed controller for the term (until the signal aborts). */
    start(signal: AbortSignal, held: ReadonlySet<number>): void;
    /** Resolves once the reconciles of the ended term are over. */
    drain(): Promise<void>;
    logger: Logger;
    /**
     * A bucket lost stays listed this long (unseen by the controllers), so one lost and taken back soon
     * — a replica too busy to renew while it lists — is not listed again. It never holds more than it
     * held before the loss.
     */
    lingerMs?: number;
  };
  /** Buckets lost lately, still listed, until when (performance.now()). */
  private readonly lingering = new Map<number, number>();
  private lingerTimer: NodeJS.Timeout | undefined;
  /** The buckets the controllers see (those of the running term). */
  private visible: ReadonlySet<number> = new Set();
  private wanted: ReadonlySet<number> = new Set();
  private term: AbortController | undefined;
  private switching: Promise<void> = Promise.resolve();

  constructor(options: BucketTerms["options"]) {
    this.options = options;
  }

  /** Whether the running term reconciles this namespace. */
  owns(namespace: string | undefined): boolean {
    return this.visible.has(bucketIndexOf(namespace ?? "", this.options.count));
  }

  /** The buckets of the running term. */
  get held(): ReadonlySet<number> {
    return this.visible;
  }

  /**
   * The buckets held now. A bucket lost ends the term at once (its Lease is no longer ours); the rest of
   * the switch, and any gain, follows in order. Resolves once this change is in effect.
   */
  change(held: ReadonlySet<number>): Promise<void> {
    this.wanted = new Set(held);
    if ([...this.visible].some((bucket) => !held.has(bucket))) this.endTerm();
    this.switching = this.switching
      .then(() => this.switchTerm())
      .catch((error: unknown) => {
        this.options.logger.error({ err: error }, "could not switch the buckets reconciled");
      });
    return this.switching;
  }

  /** Resolves once every change asked for so far is in effect (its ended term drained). */
  settled(): Promise<void> {
    return this.switching;
  }

  /** Ends the running term, for good (shutdown). */
  stop(): Promise<void> {
    clearTimeout(this.lingerTimer);
    this.options.lingerMs = 0;
    this.lingering.clear();
    return this.change(new Set());
  }

  private endTerm(): void {
    this.term?.abort(new Error("the buckets held changed"));
    this.term = undefined;
  }

  private async switchTerm(): Promise<void> {
    for (;;) {
      const target = new Set(this.wanted);
      if (sameSet(target, this.visible) && (this.term || target.size === 0)) return;
      // Gained buckets are listed first, while the current term goes on with the buckets it has.
      const gained = [...target].filter((bucket) => !this.visible.has(bucket));
      if (gained.length > 0) await this.watch(new Set([...this.visible, ...target]));
      if (!sameSet(target, this.wanted)) continue;
      this.endTerm();
      await this.options.drain();
      this.linger([...this.visible].filter((bucket) => !target.has(bucket)));
      for (const bucket of target) this.lingering.delete(bucket);
      this.visible = target;
      await this.watch(target);
      if (!sameSet(target, this.wanted)) continue;
      if (target.size > 0) {
        this.term = new AbortController();
        this.options.logger.info({ buckets: [...target].sort((a, b) => a - b) }, "reconciling buckets");
        this.options.start(this.term.signal, target);
      } else this.options.logger.info("reconciling no bucket");
      return;
    }
  }

  /** Keeps lost buckets listed a while; drops those whose while is over (and is called back for the next). */
  private linger(lost: readonly number[]): void {
    const now = performance.now();
    for (const bucket of lost) this.lingering.set(bucket, now + (this.options.lingerMs ?? 0));
    for (const [bucket, until] of this.lingering) if (until <= now) this.lingering.delete(bucket);
    clearTimeout(this.lingerTimer);
    const next = Math.min(...this.lingering.values());
    if (Number.isFinite(next)) {
      this.lingerTimer = setTimeout(
        () => {
          this.switching = this.switching.then(() => {
            this.linger([]);
            return this.watch(this.visible);
          });
        },
        next - now + 1,
      );
      this.lingerTimer.unref();
    }
  }

  /** Lists these buckets and the lingering ones, and no other. */
  private async watch(held: ReadonlySet<number>): Promise<void> {
    const buckets = new Set([...held, ...this.lingering.keys()]);
    const values = [...buckets].map((bucket) => bucketValue(bucket, this.options.count));
    await Promise.all(this.options.caches.map((cache) => cache.setPartitions(values)));
  }
}

function sameSet(a: ReadonlySet<number>, b: ReadonlySet<number>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}
