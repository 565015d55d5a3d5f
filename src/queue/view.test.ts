import { describe, expect, it } from "vitest";
import { type QueueState, queueLease } from "./state.ts";
import { formatQueues, summarizeQueues } from "./view.ts";

const state: QueueState = {
  key: "pac/team-a/repo",
  limit: 1,
  source: { kind: "repository", namespace: "team-a", name: "repo" },
  lastTicket: 3,
  lastFence: 1,
  slots: [{ ticket: 1, run: "team-a/build-a", fence: 1, since: "2026-11-22T10:00:00.000Z" }],
  waiting: [
    { ticket: 2, run: "team-a/build-b", enqueuedAt: "2026-11-22T10:00:01.000Z" },
    { ticket: 3, run: "team-a/build-c", enqueuedAt: "2026-11-22T10:00:02.000Z" },
  ],
};

describe("queue view", () => {
  it("lists each queue's key, limit, who runs and who waits in order", () => {
    const [summary] = summarizeQueues([queueLease(undefined, state, "r", new Date())]);
    expect(summary?.waiting.map((w) => [w.position, w.run])).toEqual([
      [1, "team-a/build-b"],
      [2, "team-a/build-c"],
    ]);
    const text = formatQueues(summarizeQueues([queueLease(undefined, state, "r", new Date())]));
    expect(text).toContain("pac/team-a/repo  limit 1  running 1  waiting 2  (Repository team-a/repo)");
    expect(text).toMatch(/running {2}#1 {2}team-a\/build-a/);
    expect(text).toMatch(/ {6}2 {2}#3 {2}team-a\/build-c/);
  });

  it("says so when there is no queue", () => {
    expect(formatQueues([])).toBe("no queues\n");
  });
});
