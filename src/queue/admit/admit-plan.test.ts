import { describe, expect, it } from "vitest";
import { emptyQueue, type QueueState } from "../state.ts";
import { admitToQueue, type QueueBounds } from "./admit-plan.ts";

const now = new Date("2026-11-22T10:00:00Z");
const source = { kind: "repository" as const, namespace: "ns", name: "repo" };
const req = (run: string) => ({ run, now });
const roomy: QueueBounds = { maxWaiting: 100, maxStateBytes: 1_000_000 };

/** A queue of `limit` whose slots and line are held by runs already seen (confirmed), or not. */
function queue(
  limit: number,
  slots: string[],
  waiting: { run: string; unconfirmed?: boolean }[],
): QueueState {
  let ticket = 0;
  return {
    ...emptyQueue("k", limit, source),
    slots: slots.map((run) => ({ ticket: ++ticket, run, fence: ticket, since: "" })),
    waiting: waiting.map((w) => ({
      ticket: ++ticket,
      run: w.run,
      enqueuedAt: "",
      ...(w.unconfirmed ? { unconfirmed: true as const } : {}),
    })),
    lastTicket: ticket,
    lastFence: slots.length,
  };
}

describe("admitToQueue", () => {
  it("starts runs while slots are free, then lines them up in ticket order, each unconfirmed", () => {
    const { state, results } = admitToQueue(
      emptyQueue("k", 2, source),
      [req("ns/a"), req("ns/b"), req("ns/c"), req("ns/d")],
      roomy,
    );
    expect(results).toEqual([
      { outcome: "start", ticket: 1, fence: 1, running: 1, limit: 2 },
      { outcome: "start", ticket: 2, fence: 2, running: 2, limit: 2 },
      { outcome: "wait", ticket: 3, position: 1, running: 2, limit: 2 },
      { outcome: "wait", ticket: 4, position: 2, running: 2, limit: 2 },
    ]);
    expect(state.slots.map((s) => [s.run, s.unconfirmed])).toEqual([
      ["ns/a", true],
      ["ns/b", true],
    ]);
    expect(state.waiting.map((w) => [w.run, w.unconfirmed])).toEqual([
      ["ns/c", true],
      ["ns/d", true],
    ]);
  });

  it("never lets a newcomer overtake a run that waits, even when a slot is free", () => {
    const start = { ...queue(2, [], [{ run: "ns/old" }]), lastTicket: 5 };
    const { results } = admitToQueue(start, [req("ns/new")], roomy);
    expect(results[0]).toMatchObject({ outcome: "wait", ticket: 6, position: 2 });
  });

  it("is idempotent for a run already in the queue", () => {
    const first = admitToQueue(emptyQueue("k", 1, source), [req("ns/a"), req("ns/b")], roomy);
    const again = admitToQueue(first.state, [req("ns/a"), req("ns/b")], roomy);
    expect(again.results).toEqual([
      { outcome: "start", ticket: 1, fence: 1, running: 1, limit: 1 },
      { outcome: "wait", ticket: 2, position: 1, running: 1, limit: 1 },
    ]);
    expect(again.state).toEqual(first.state);
  });

  it.each([
    {
      name: "a line of confirmed runs at its length refuses the newcomer",
      waiting: [{ run: "ns/b" }],
      expected: { outcome: "full", waiting: 1, limit: 1 },
      line: ["ns/b"],
    },
    {
      name: "the oldest unconfirmed entry makes room, confirmed ones keep their place",
      waiting: [
        { run: "ns/b" },
        { run: "ns/ghost1", unconfirmed: true },
        { run: "ns/ghost2", unconfirmed: true },
      ],
      expected: { outcome: "wait", ticket: 5, position: 3, running: 1, limit: 1, displaced: "ns/ghost1" },
      line: ["ns/b", "ns/ghost2", "ns/new"],
    },
  ])("at its bounds: $name", ({ waiting, expected, line }) => {
    const start = queue(1, ["ns/a"], waiting);
    const { state, results } = admitToQueue(start, [req("ns/new")], {
      maxWaiting: waiting.length,
      maxStateBytes: 1_000_000,
    });
    expect(results[0]).toEqual(expected);
    expect(state.waiting.map((w) => w.run)).toEqual(line);
  });

  it("a flood of made-up admissions never fills the line: a real create still gets its place", () => {
    let state = queue(1, ["ns/running"], []);
    for (let i = 0; i < 50; i++)
      state = admitToQueue(state, [req(`ns/ghost-${i}`)], { maxWaiting: 5, maxStateBytes: 1_000_000 }).state;
    expect(state.waiting).toHaveLength(5);
    const real = admitToQueue(state, [req("ns/real")], { maxWaiting: 5, maxStateBytes: 1_000_000 });
    expect(real.results[0]).toMatchObject({ outcome: "wait", displaced: "ns/ghost-45" });
    expect(real.state.waiting.map((w) => w.run)).toContain("ns/real");
  });

  it("keeps the state within its bytes, whatever the names: long names fill it sooner", () => {
    const long = (i: number) => `${"n".repeat(63)}/${"r".repeat(240)}-${i}`;
    let state = queue(1, ["ns/running"], []);
    let full = 0;
    for (let i = 0; i < 2_000; i++) {
      const { state: next, results } = admitToQueue(state, [req(long(i))], {
        maxWaiting: 10_000,
        maxStateBytes: 64 * 1024,
      });
      state = next;
      // Confirm everything, as if the runs appeared: nothing can be displaced, so the bound refuses.
      state = { ...state, waiting: state.waiting.map(({ unconfirmed: _, ...w }) => w) };
      if (results[0]?.outcome === "full") full += 1;
    }
    expect(JSON.stringify(state).length).toBeLessThanOrEqual(64 * 1024);
    expect(full).toBeGreaterThan(0);
  });

  it("refuses a slot when even it would not fit the bytes", () => {
    const { results } = admitToQueue(emptyQueue("k", 5, source), [req("ns/a")], {
      maxWaiting: 10,
      maxStateBytes: 50,
    });
    expect(results[0]).toMatchObject({ outcome: "full" });
  });
});
