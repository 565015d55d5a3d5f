import { describe, expect, it } from "vitest";
import { LoadBudget } from "./load-budget.ts";

describe("LoadBudget", () => {
  it("admits requests while both the count and the bytes fit, and again once released", () => {
    const budget = new LoadBudget(3, 10);
    const a = budget.take(4);
    const b = budget.take(4);
    expect(budget.take(4)).toBeUndefined(); // 12 bytes > 10
    const c = budget.take(2);
    expect(c).toBeDefined();
    expect(budget.take(0)).toBeUndefined(); // 3 requests
    a?.();
    a?.(); // releasing twice frees once
    expect(budget.take(4)).toBeDefined();
    expect(budget.take(1)).toBeUndefined();
    b?.();
    c?.();
  });

  it("lets one body larger than the whole budget through alone", () => {
    const budget = new LoadBudget(10, 10);
    const big = budget.take(50);
    expect(big).toBeDefined();
    expect(budget.take(1)).toBeUndefined();
    big?.();
    expect(budget.take(1)).toBeDefined();
  });
});
