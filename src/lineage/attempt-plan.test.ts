import { describe, expect, it } from "vitest";
import { planAllocations } from "./attempt-plan.ts";

const request = (lineageKey: string, base = "build") => ({
  lineageKey,
  nameFor: (n: number) => `${base}-${n}`,
});

describe("planAllocations", () => {
  it("starts at 1 for a new lineage, with nothing to supersede", () => {
    const plan = planAllocations({ last: 0 }, [request("L")]);
    expect(plan.allocations).toEqual([{ attempt: 1, name: "build-1" }]);
    expect(plan.record).toEqual({ last: 1, lastName: "build-1", lineageKey: "L", earlier: [] });
  });

  it("hands a batch consecutive numbers, each superseding the one before", () => {
    const plan = planAllocations({ last: 4, lastName: "build-4", lineageKey: "L" }, [
      request("L"),
      request("L"),
    ]);
    expect(plan.allocations).toEqual([
      { attempt: 5, name: "build-5", supersedes: "build-4" },
      { attempt: 6, name: "build-6", supersedes: "build-5" },
    ]);
    expect(plan.record.last).toBe(6);
  });

  it("never claims to supersede a run of another lineage that shares the counter", () => {
    const plan = planAllocations({ last: 2, lastName: "x-2", lineageKey: "other" }, [request("L")]);
    expect(plan.allocations).toEqual([{ attempt: 3, name: "build-3" }]);
  });

  it("remembers the three attempts before the last, newest first, with when they were admitted", () => {
    const admitted = (at: string) => ({
      ...request("L"),
      subject: { namespace: "ns", annotations: {}, admittedAt: at },
    });
    const plan = planAllocations({ last: 0 }, [
      admitted("t1"),
      admitted("t2"),
      admitted("t3"),
      admitted("t4"),
      admitted("t5"),
    ]);
    expect(plan.record.earlier).toEqual([
      { attempt: 4, name: "build-4", admittedAt: "t4" },
      { attempt: 3, name: "build-3", admittedAt: "t3" },
      { attempt: 2, name: "build-2", admittedAt: "t2" },
    ]);
    // Another lineage taking the counter over starts afresh.
    expect(planAllocations(plan.record, [request("M")]).record.earlier).toEqual([]);
  });

  it("keeps a chosen name and still numbers it", () => {
    const plan = planAllocations({ last: 1, lastName: "build-1", lineageKey: "L" }, [
      { lineageKey: "L", nameFor: () => "my-explicit-name" },
    ]);
    expect(plan.allocations).toEqual([{ attempt: 2, name: "my-explicit-name", supersedes: "build-1" }]);
  });
});
