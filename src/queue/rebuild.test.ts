import { describe, expect, it } from "vitest";
import type { QueuedRun } from "./queued-run.ts";
import { rebuildQueueState } from "./rebuild.ts";

const now = new Date("2026-11-22T10:00:00Z");
const run = (name: string, patch: Partial<QueuedRun>): QueuedRun => ({
  run: `ns/${name}`,
  pending: false,
  pendingByQueue: false,
  cancelled: false,
  done: false,
  deleting: false,
  ...patch,
});

describe("rebuildQueueState", () => {
  it("puts running runs in slots, waiting ones in ticket order, and continues the counters", () => {
    const state = rebuildQueueState(
      "pac/ns/repo",
      2,
      { kind: "repository", namespace: "ns", name: "repo" },
      [
        run("done", { ticket: 1, fence: 1, done: true }),
        run("running", { ticket: 2, fence: 2 }),
        run("third", { ticket: 5, pending: true, pendingByQueue: true, enqueuedAt: "t5" }),
        run("second", { ticket: 4, pending: true, pendingByQueue: true, enqueuedAt: "t4" }),
        run("cancelled", { ticket: 3, pending: true, pendingByQueue: true, cancelled: true }),
      ],
      now,
    );
    expect(state.slots).toEqual([{ ticket: 2, run: "ns/running", fence: 2, since: now.toISOString() }]);
    expect(state.waiting).toEqual([
      { ticket: 4, run: "ns/second", enqueuedAt: "t4" },
      { ticket: 5, run: "ns/third", enqueuedAt: "t5" },
    ]);
    expect([state.lastTicket, state.lastFence]).toEqual([5, 2]);
  });
});
