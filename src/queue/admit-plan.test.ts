import { describe, expect, it } from "vitest";
import { admitToQueue } from "./admit-plan.ts";
import { emptyQueue } from "./state.ts";

const now = new Date("2026-11-22T10:00:00Z");
const source = { kind: "repository" as const, namespace: "ns", name: "repo" };
const req = (run: string) => ({ run, now });

describe("admitToQueue", () => {
  it("starts runs while slots are free, then lines them up in ticket order", () => {
    const { state, results } = admitToQueue(
      emptyQueue("k", 2, source),
      [req("ns/a"), req("ns/b"), req("ns/c"), req("ns/d")],
      100,
    );
    expect(results).toEqual([
      { outcome: "start", ticket: 1, fence: 1, running: 1, limit: 2 },
      { outcome: "start", ticket: 2, fence: 2, running: 2, limit: 2 },
      { outcome: "wait", ticket: 3, position: 1, running: 2, limit: 2 },
      { outcome: "wait", ticket: 4, position: 2, running: 2, limit: 2 },
    ]);
    expect(state.slots.map((s) => s.run)).toEqual(["ns/a", "ns/b"]);
    expect(state.waiting.map((w) => w.run)).toEqual(["ns/c", "ns/d"]);
  });

  it("never lets a newcomer overtake a run that waits, even when a slot is free", () => {
    const start = {
      ...emptyQueue("k", 2, source),
      lastTicket: 5,
      waiting: [{ ticket: 5, run: "ns/old", enqueuedAt: "" }],
    };
    const { results } = admitToQueue(start, [req("ns/new")], 100);
    expect(results[0]).toMatchObject({ outcome: "wait", ticket: 6, position: 2 });
  });

  it("is idempotent for a run already in the queue", () => {
    const first = admitToQueue(emptyQueue("k", 1, source), [req("ns/a"), req("ns/b")], 100);
    const again = admitToQueue(first.state, [req("ns/a"), req("ns/b")], 100);
    expect(again.results).toEqual([
      { outcome: "start", ticket: 1, fence: 1, running: 1, limit: 1 },
      { outcome: "wait", ticket: 2, position: 1, running: 1, limit: 1 },
    ]);
    expect(again.state).toEqual(first.state);
  });

  it("refuses a run when the line is at its maximum", () => {
    const { results } = admitToQueue(emptyQueue("k", 1, source), [req("ns/a"), req("ns/b"), req("ns/c")], 1);
    expect(results[2]).toEqual({ outcome: "full", waiting: 1, limit: 1 });
  });
});
