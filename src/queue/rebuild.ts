import type { QueuedRun } from "./queued-run.ts";
import type { QueueSource, QueueState } from "./state.ts";

/**
 * A queue's state rebuilt from its runs alone, for when its Lease is gone: every run carries its ticket,
 * and a started one the fencing token of its slot. Running runs hold slots; runs Pending by the queue
 * wait in ticket order; the counters continue above the highest ticket and token seen.
 */
export function rebuildQueueState(
  key: string,
  limit: number,
  source: QueueSource,
  runs: readonly QueuedRun[],
  now: Date,
): QueueState {
  const live = runs.filter((r) => r.ticket !== undefined && !r.done && !r.deleting);
  const slots = live
    .filter((r) => !r.pending)
    .map((r) => ({ ticket: r.ticket ?? 0, run: r.run, fence: r.fence ?? 0, since: now.toISOString() }));
  const waiting = live
    .filter((r) => r.pending && r.pendingByQueue && !r.cancelled)
    .sort((a, b) => (a.ticket ?? 0) - (b.ticket ?? 0))
    .map((r) => ({ ticket: r.ticket ?? 0, run: r.run, enqueuedAt: r.enqueuedAt ?? now.toISOString() }));
  return {
    key,
    limit,
    source,
    lastTicket: Math.max(0, ...runs.map((r) => r.ticket ?? 0)),
    lastFence: Math.max(0, ...runs.map((r) => r.fence ?? 0)),
    slots,
    waiting,
  };
}
