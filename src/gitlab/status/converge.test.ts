import { describe, expect, it } from "vitest";
import { RepairBudget } from "./converge.ts";

describe("RepairBudget", () => {
  it("allows max repairs per window, then says until when none is left", () => {
    const budget = new RepairBudget(3, 600_000);
    expect([0, 10, 20].map((t) => budget.take("l", t).allowed)).toEqual([true, true, true]);
    expect(budget.take("l", 30)).toEqual({ allowed: false, until: 600_000 });
    expect(budget.take("other", 30)).toEqual({ allowed: true });
    expect(budget.take("l", 600_001)).toEqual({ allowed: true });
    budget.forget("l");
    expect(budget.take("l", 600_002)).toEqual({ allowed: true });
  });
});
