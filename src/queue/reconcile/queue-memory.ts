import { runKey } from "../queued-run.ts";

/**
 * What the queue controller remembers between reconciles, per queue: since when a run it expects has been
 * missing (TTL clocks, on its own clock), and which runs it has seen exist, so that one missing now was
 * deleted rather than never created. Only an optimisation: losing it (a restart, a new leader) restarts
 * the TTL clocks, which delays a reclaim and never hastens one.
 *
 * Bounded: a run is forgotten once it is done, or once its queue's plan is finished with it, and a
 * deleted run once the TTL has passed twice since, whether or not its queue was reconciled (followers
 * observe runs but never reconcile).
 */
export class QueueMemory {
  private readonly absent = new Map<string, Map<string, number>>();
  private readonly seenRuns = new Map<string, Set<string>>();
  /** Deleted runs still remembered as seen, oldest deletion first, per queue. */
  private readonly deleted = new Map<string, Map<string, number>>();
  private readonly ttlMs: number;
  private readonly clock: () => number;

  constructor(ttlMs: number, clock: () => number) {
    this.ttlMs = ttlMs;
    this.clock = clock;
  }

  /** A run of the queue was observed: existing (and not done), done, or deleted. */
  observe(
    queueId: string,
    namespace: string | undefined,
    name: string | undefined,
    how: "exists" | "done" | "deleted",
  ): void {
    const run = runKey(namespace, name);
    if (how === "exists") {
      const seen = this.seenRuns.get(queueId) ?? new Set<string>();
      this.seenRuns.set(queueId, seen);
      seen.add(run);
      this.deleted.get(queueId)?.delete(run);
    } else if (how === "done") this.forget(queueId, [run]);
    else if (this.seenRuns.get(queueId)?.has(run)) {
      const deleted = this.deleted.get(queueId) ?? new Map<string, number>();
      this.deleted.set(queueId, deleted);
      deleted.set(run, this.clock());
    }
    this.prune(queueId);
  }

  seen(queueId: string): ReadonlySet<string> {
    return new Set(this.seenRuns.get(queueId));
  }

  absentSince(queueId: string): ReadonlyMap<string, number> {
    return this.absent.get(queueId) ?? new Map();
  }

  /** After a plan: the missing runs it still waits for, and the runs it has finished with. */
  update(queueId: string, absentSince: Map<string, number>, settled: readonly string[]): void {
    if (absentSince.size > 0) this.absent.set(queueId, absentSince);
    else this.absent.delete(queueId);
    this.forget(queueId, settled);
  }

  /** Runs remembered as seen, over every queue (tests, and the memory bound). */
  get size(): number {
    let total = 0;
    for (const seen of this.seenRuns.values()) total += seen.size;
    return total;
  }

  private forget(queueId: string, runs: readonly string[]): void {
    const seen = this.seenRuns.get(queueId);
    const deleted = this.deleted.get(queueId);
    for (const run of runs) {
      seen?.delete(run);
      deleted?.delete(run);
    }
    if (seen?.size === 0) this.seenRuns.delete(queueId);
    if (deleted?.size === 0) this.deleted.delete(queueId);
  }

  private prune(queueId: string): void {
    const deleted = this.deleted.get(queueId);
    if (!deleted) return;
    const now = this.clock();
    const expired: string[] = [];
    for (const [run, at] of deleted) {
      if (now - at <= 2 * this.ttlMs) break;
      expired.push(run);
    }
    if (expired.length > 0) this.forget(queueId, expired);
  }
}
