/**
 * PaC's in-memory concurrency queue (pkg/queue/queue_manager.go, Manager; pkg/queue/semaphore.go): per
 * repository, the runs in line (in the order they were added) and the ones running, at most `limit`.
 * Lost when PaC restarts (InitQueues rebuilds it from the cluster; not emulated).
 */
export class PacQueueManager {
  private readonly queues = new Map<string, { running: Set<string>; pending: string[] }>();

  private queueOf(repo: string) {
    let queue = this.queues.get(repo);
    if (!queue) {
      queue = { running: new Set<string>(), pending: [] };
      this.queues.set(repo, queue);
    }
    return queue;
  }

  /**
   * AddListToRunningQueue: adds the runs not yet known to the line, then moves up to `limit` of the line
   * to running, and returns those moved now. Without a limit (nil or 0), every pending run is returned.
   */
  addListToRunningQueue(repo: string, limit: number | undefined, list: readonly string[]): string[] {
    const queue = this.queueOf(repo);
    for (const run of list)
      if (!queue.running.has(run) && !queue.pending.includes(run)) queue.pending.push(run);
    if (!limit) return [...queue.pending];
    const acquired: string[] = [];
    for (let i = 0; i < limit; i++) {
      const next = this.acquireLatest(queue, limit);
      if (next) acquired.push(next);
    }
    return acquired;
  }

  /** RemoveAndTakeItemFromQueue: the finished run's slot freed, and the next in line moved to running. */
  removeAndTakeItemFromQueue(repo: string, limit: number | undefined, run: string): string | undefined {
    const queue = this.queues.get(repo);
    if (!queue || !(queue.running.has(run) || queue.pending.includes(run))) return undefined;
    this.removeFromQueue(repo, run);
    return this.acquireLatest(queue, limit ?? Number.POSITIVE_INFINITY);
  }

  removeFromQueue(repo: string, run: string): void {
    const queue = this.queues.get(repo);
    if (!queue) return;
    queue.running.delete(run);
    queue.pending = queue.pending.filter((r) => r !== run);
  }

  running(repo: string): string[] {
    return [...(this.queues.get(repo)?.running ?? [])];
  }

  private acquireLatest(
    queue: { running: Set<string>; pending: string[] },
    limit: number,
  ): string | undefined {
    if (queue.running.size >= limit) return undefined;
    const next = queue.pending.shift();
    if (next) queue.running.add(next);
    return next;
  }
}
