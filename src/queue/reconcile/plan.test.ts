import { describe, expect, it } from "vitest";
import type { QueuedRun } from "../queued-run.ts";
import { emptyQueue, type QueueState } from "../state.ts";
import { type PlanInput, planQueue } from "./plan.ts";

const wallNow = new Date("2026-11-22T10:00:00Z");
const source = { kind: "repository" as const, namespace: "ns", name: "repo" };

function view(run: string, patch: Partial<QueuedRun> = {}): QueuedRun {
  return {
    run,
    pending: true,
    pendingByQueue: true,
    cancelled: false,
    done: false,
    deleting: false,
    ...patch,
  };
}

function queue(limit: number, slots: string[], waiting: string[]): QueueState {
  let ticket = 0;
  return {
    ...emptyQueue("pac/ns/repo", limit, source),
    slots: slots.map((run) => ({ ticket: ++ticket, run, fence: ticket, since: "2026-11-22T09:00:00Z" })),
    waiting: waiting.map((run) => ({ ticket: ++ticket, run, enqueuedAt: "2026-11-22T09:59:00Z" })),
    lastTicket: slots.length + waiting.length,
    lastFence: slots.length,
  };
}

function input(state: QueueState, runs: QueuedRun[], patch: Partial<PlanInput> = {}): PlanInput {
  return {
    state,
    limit: state.limit,
    runs: new Map(runs.map((r) => [r.run, r])),
    now: 1_000_000,
    wallNow,
    absentSince: new Map(),
    seen: new Set(),
    ttlMs: 60_000,
    maxWaitMs: 0,
    ...patch,
  };
}

describe("planQueue", () => {
  it("frees the slot of a finished run and starts the head of the line, in ticket order", () => {
    const state = queue(1, ["ns/a"], ["ns/b", "ns/c"]);
    const plan = planQueue(
      input(state, [view("ns/a", { done: true, pending: false }), view("ns/b"), view("ns/c")]),
    );
    expect(plan.freed.map((f) => [f.slot.run, f.why])).toEqual([["ns/a", "done"]]);
    expect(plan.promote).toEqual([{ ticket: 2, run: "ns/b", fence: 2, since: wallNow.toISOString() }]);
    expect(plan.state.slots.map((s) => s.run)).toEqual(["ns/b"]);
    expect(plan.state.waiting.map((w) => w.run)).toEqual(["ns/c"]);
  });

  it("grants several slots at once when the limit grew", () => {
    const state = queue(1, ["ns/a"], ["ns/b", "ns/c", "ns/d"]);
    const plan = planQueue({
      ...input(state, [view("ns/a", { pending: false }), view("ns/b"), view("ns/c"), view("ns/d")]),
      limit: 3,
    });
    expect(plan.promote.map((s) => [s.run, s.fence])).toEqual([
      ["ns/b", 2],
      ["ns/c", 3],
    ]);
    expect(plan.state.limit).toBe(3);
  });

  it("keeps a slot of a missing run until the TTL, by its own clock, then reclaims it", () => {
    const state = queue(1, ["ns/a"], ["ns/b"]);
    const first = planQueue(input(state, [view("ns/b")]));
    expect(first.freed).toEqual([]);
    expect(first.promote).toEqual([]);
    const later = planQueue(
      input(state, [view("ns/b")], { absentSince: first.absentSince, now: 1_000_000 + 60_000 }),
    );
    expect(later.freed.map((f) => f.why)).toEqual(["reclaimed"]);
    expect(later.promote.map((s) => s.run)).toEqual(["ns/b"]);
  });

  it("confirms the entries whose runs it sees; a missing one stays unconfirmed", () => {
    const base = queue(1, ["ns/a"], ["ns/b", "ns/ghost"]);
    const state: QueueState = {
      ...base,
      slots: base.slots.map((s) => ({ ...s, unconfirmed: true as const })),
      waiting: base.waiting.map((w) => ({ ...w, unconfirmed: true as const })),
    };
    const plan = planQueue(input(state, [view("ns/a", { pending: false }), view("ns/b")]));
    expect(plan.state.slots.map((s) => [s.run, s.unconfirmed])).toEqual([["ns/a", undefined]]);
    expect(plan.state.waiting.map((w) => [w.run, w.unconfirmed])).toEqual([
      ["ns/b", undefined],
      ["ns/ghost", true],
    ]);
  });

  it("never takes back a place the API server says is held by a run the cache has not caught up with", () => {
    const state = queue(1, ["ns/a"], ["ns/b"]);
    const first = planQueue(input(state, [view("ns/b")]));
    const later = planQueue(
      input(state, [view("ns/b")], {
        absentSince: first.absentSince,
        now: 1_000_000 + 60_000,
        present: new Set(["ns/a"]),
      }),
    );
    expect(later.freed).toEqual([]);
    expect(later.promote).toEqual([]);
  });

  it("frees at once the slot of a run it saw before and that is now gone (deleted)", () => {
    const state = queue(1, ["ns/a"], []);
    const plan = planQueue(input(state, [], { seen: new Set(["ns/a"]) }));
    expect(plan.freed.map((f) => f.why)).toEqual(["deleted"]);
  });

  it("lets a missing head of the line hold its place until the TTL, never overtaken", () => {
    const state = queue(2, ["ns/a"], ["ns/ghost", "ns/c"]);
    const plan = planQueue(input(state, [view("ns/a", { pending: false }), view("ns/c")]));
    expect(plan.promote).toEqual([]);
    const later = planQueue(
      input(state, [view("ns/a", { pending: false }), view("ns/c")], {
        absentSince: plan.absentSince,
        now: 1_060_000,
      }),
    );
    expect(later.dropped.map((d) => [d.entry.run, d.why])).toEqual([["ns/ghost", "never created"]]);
    expect(later.promote.map((s) => s.run)).toEqual(["ns/c"]);
  });

  it("drops cancelled waiting runs and starts the next one", () => {
    const state = queue(1, [], ["ns/b", "ns/c"]);
    const plan = planQueue(input(state, [view("ns/b", { cancelled: true }), view("ns/c")]));
    expect(plan.dropped.map((d) => [d.entry.run, d.why])).toEqual([["ns/b", "cancelled"]]);
    expect(plan.promote.map((s) => s.run)).toEqual(["ns/c"]);
  });

  it("counts a waiting run that someone else started against the limit", () => {
    const state = queue(1, [], ["ns/b", "ns/c"]);
    const plan = planQueue(input(state, [view("ns/b", { pending: false }), view("ns/c")]));
    expect(plan.adopted.map((s) => s.run)).toEqual(["ns/b"]);
    expect(plan.promote).toEqual([]);
  });

  it("starts again a run that holds a slot but is still Pending (a start cut short)", () => {
    const state = queue(1, ["ns/a"], []);
    const plan = planQueue(input(state, [view("ns/a")]));
    expect(plan.restart.map((s) => [s.run, s.fence])).toEqual([["ns/a", 1]]);
    expect(plan.freed).toEqual([]);
  });

  it("cancels runs that waited longer than the maximum", () => {
    const state = queue(1, ["ns/a"], ["ns/b"]);
    const plan = planQueue(
      input(state, [view("ns/a", { pending: false }), view("ns/b")], { maxWaitMs: 30_000 }),
    );
    expect(plan.cancel.map((c) => c.entry.run)).toEqual(["ns/b"]);
    expect(plan.cancel[0]?.why).toBe("waited longer than 30s in queue pac/ns/repo");
    expect(plan.state.waiting).toEqual([]);
  });

  it("never grants more slots than the limit, whatever the input", () => {
    for (let limit = 1; limit <= 5; limit++) {
      const runs = Array.from({ length: 8 }, (_, i) => `ns/r${i}`);
      const state = queue(limit, [], runs);
      const plan = planQueue(
        input(
          state,
          runs.map((r) => view(r)),
        ),
      );
      expect(plan.state.slots.length).toBe(limit);
      expect(plan.promote.map((s) => s.run)).toEqual(runs.slice(0, limit));
    }
  });
});

describe("planQueue recovery", () => {
  it("puts a waiting run the state lost back in line by its ticket, and a running one in a slot", () => {
    const state = queue(1, ["ns/a"], ["ns/c"]);
    state.waiting = [{ ticket: 5, run: "ns/c", enqueuedAt: "2026-11-22T09:59:00Z" }];
    const plan = planQueue(
      input(state, [
        view("ns/a", { pending: false, ticket: 1, fence: 1 }),
        view("ns/c", { ticket: 5 }),
        view("ns/b", { ticket: 3 }),
        view("ns/x", { pending: false, ticket: 9, fence: 7 }),
        view("ns/mine", { pendingByQueue: false, ticket: 4 }),
      ]),
    );
    expect(plan.recovered.sort()).toEqual(["ns/b", "ns/x"]);
    expect(plan.state.slots.map((s) => [s.run, s.fence])).toEqual([
      ["ns/a", 1],
      ["ns/x", 7],
    ]);
    expect(plan.state.waiting.map((w) => w.run)).toEqual(["ns/b", "ns/c"]);
    expect([plan.state.lastTicket, plan.state.lastFence]).toEqual([9, 7]);
  });
});

describe("planQueue and runs that will never be created", () => {
  it("frees at once the slot of a missing attempt whose lineage already has a newer attempt", () => {
    const id = "abcdefghij";
    const state = queue(1, [`ns/build-${id}-1`], [`ns/build-${id}-2`]);
    const plan = planQueue(input(state, [view(`ns/build-${id}-2`)]));
    expect(plan.freed.map((f) => [f.slot.run, f.why])).toEqual([[`ns/build-${id}-1`, "reclaimed"]]);
    expect(plan.promote.map((s) => s.run)).toEqual([`ns/build-${id}-2`]);
  });
});
