import { describe, expect, it } from "vitest";
import { NewLineageBudget } from "./new-lineage-budget.ts";

describe("NewLineageBudget", () => {
  it("gives each namespace its share per minute, refilled as time passes", () => {
    let now = 0;
    const budget = new NewLineageBudget({ perNamespacePerMinute: 3, perMinute: 100, clock: () => now });
    expect([1, 2, 3, 4].map(() => budget.take("a"))).toEqual([true, true, true, false]);
    expect(budget.take("b")).toBe(true); // another namespace has its own
    now += 20_000; // a third of a minute: one more
    expect([budget.take("a"), budget.take("a")]).toEqual([true, false]);
  });

  it("bounds every namespace together, so made-up namespaces cannot add up", () => {
    const budget = new NewLineageBudget({ perNamespacePerMinute: 10, perMinute: 5, clock: () => 0 });
    const taken = Array.from({ length: 20 }, (_, i) => budget.take(`ns-${i}`));
    expect(taken.filter(Boolean)).toHaveLength(5);
  });

  it("forgets namespaces whose share is whole again, so it stays small", () => {
    let now = 0;
    const budget = new NewLineageBudget({ perNamespacePerMinute: 1, perMinute: 1_000_000, clock: () => now });
    for (let i = 0; i < 1000; i++) budget.take(`ns-${i}`);
    now += 60_000;
    budget.take("one-more");
    expect(budget.size).toBeLessThanOrEqual(1);
  });
});
