import { ShedError } from "../kube/lease-batcher.ts";

/**
 * A new lineage was refused its counter: its namespace (or every namespace together) is over budget.
 * Shed like an overload: the run is admitted without lineage, at once, and nothing is written.
 */
export class LineageBudgetError extends ShedError {
  constructor(namespace: string) {
    super(
      `namespace ${namespace || "(none)"} is over its budget of new lineages per minute (--max-new-lineages-per-namespace, --max-new-lineages)`,
    );
  }
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * How many new lineages (attempt counters, one Lease each in tekton-lineage's namespace) one webhook
 * process creates, per namespace and in all, as token buckets refilled per minute. Anyone who can create
 * a run, or send a made-up review, chooses how many lineages there are; this bounds how fast their Leases
 * can grow, and the reconciler's collection bounds how long they stay.
 */
export class NewLineageBudget {
  private readonly buckets = new Map<string, Bucket>();
  private readonly total: Bucket;
  private readonly perNamespace: number;
  private readonly overall: number;
  private readonly clock: () => number;

  constructor(options: { perNamespacePerMinute: number; perMinute: number; clock?: () => number }) {
    this.perNamespace = options.perNamespacePerMinute;
    this.overall = options.perMinute;
    this.clock = options.clock ?? (() => performance.now());
    this.total = { tokens: this.overall, at: this.clock() };
  }

  /** Takes one new lineage of the namespace; false when it or the whole process is over budget. */
  take(namespace: string): boolean {
    const now = this.clock();
    const bucket = this.buckets.get(namespace) ?? { tokens: this.perNamespace, at: now };
    refill(bucket, this.perNamespace, now);
    refill(this.total, this.overall, now);
    if (bucket.tokens < 1 || this.total.tokens < 1) return false;
    bucket.tokens -= 1;
    this.total.tokens -= 1;
    this.buckets.set(namespace, bucket);
    if (this.buckets.size > 1000) this.forgetFull(now);
    return true;
  }

  /** Namespaces tracked now (bounded: a full bucket is the same as none). */
  get size(): number {
    return this.buckets.size;
  }

  private forgetFull(now: number): void {
    for (const [namespace, bucket] of this.buckets) {
      refill(bucket, this.perNamespace, now);
      if (bucket.tokens >= this.perNamespace) this.buckets.delete(namespace);
    }
  }
}

function refill(bucket: Bucket, perMinute: number, now: number): void {
  bucket.tokens = Math.min(perMinute, bucket.tokens + ((now - bucket.at) * perMinute) / 60_000);
  bucket.at = now;
}
