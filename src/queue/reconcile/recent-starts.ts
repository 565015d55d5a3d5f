/**
 * Starts this process made and the API server took, by run: the slot's fence and when (own clock). The
 * queue's Lease can be seen changed before the started run is: the cache then still shows the run
 * Pending, and a plan would start it again — a refused patch, a wasted request on one promotion in
 * twenty. A start taken is not repeated within `graceMs`; after it, a run still Pending is started again
 * (its start was lost, or someone put it back). Bounded: an entry goes when its run is seen started, done
 * or deleted, or once the grace has passed.
 */
export class RecentStarts {
  private readonly starts = new Map<string, { fence: number; at: number }>();
  private readonly graceMs: number;
  private readonly clock: () => number;

  constructor(graceMs: number, clock: () => number) {
    this.graceMs = graceMs;
    this.clock = clock;
  }

  record(run: string, fence: number): void {
    const now = this.clock();
    // Oldest first (insertion order): drop those past the grace.
    for (const [key, start] of this.starts) {
      if (now - start.at < this.graceMs) break;
      this.starts.delete(key);
    }
    this.starts.delete(run);
    this.starts.set(run, { fence, at: now });
  }

  /** True when this process started the run with this fence within the grace. */
  isRecent(run: string, fence: number): boolean {
    const start = this.starts.get(run);
    return start !== undefined && start.fence === fence && this.clock() - start.at < this.graceMs;
  }

  forget(run: string): void {
    this.starts.delete(run);
  }

  get size(): number {
    return this.starts.size;
  }
}
