import { describe, expect, it } from "vitest";
import { LoadBudget } from "./load-budget.ts";

describe("LoadBudget", () => {
  it("admits requests while the count fits, and again once released", () => {
    const budget = new LoadBudget(2, 10);
    const a = budget.take(() => {});
    const b = budget.take(() => {});
    expect(budget.take(() => {})).toBeUndefined();
    a?.release();
    a?.release(); // releasing twice frees once
    const c = budget.take(() => {});
    expect(c).toBeDefined();
    expect(budget.take(() => {})).toBeUndefined();
    b?.release();
    c?.release();
    expect(budget.held()).toBe(0);
  });

  it("counts bytes as they arrive: slow bodies hold only what they sent", () => {
    const budget = new LoadBudget(10, 10);
    const slow = [1, 2, 3].map(() => budget.take(() => {}));
    for (const s of slow) expect(s?.grow(1)).toBe(true);
    const review = budget.take(() => {});
    expect(review?.grow(7)).toBe(true);
    expect(budget.held()).toBe(10);
  });

  it.each([
    {
      name: "another body is the largest: it is evicted and its bytes freed",
      sizes: [6, 3],
      grow: 2,
      evicted: [0],
      growerFits: true,
    },
    {
      name: "the growing body is the largest: it is refused, the others stay",
      sizes: [3, 3],
      grow: 6,
      evicted: [],
      growerFits: false,
    },
    {
      name: "several large bodies: the largest go until it fits",
      sizes: [4, 4, 1],
      grow: 3,
      evicted: [0],
      growerFits: true,
    },
  ])("when bodies do not fit, the largest goes — $name", ({ sizes, grow, evicted, growerFits }) => {
    const budget = new LoadBudget(10, 10);
    const told: number[] = [];
    const held = sizes.map((size, i) => {
      const ticket = budget.take(() => told.push(i));
      ticket?.grow(size);
      return ticket;
    });
    const grower = budget.take(() => told.push(-1));
    expect(grower?.grow(grow)).toBe(growerFits);
    expect(told).toEqual(evicted);
    expect(budget.held()).toBeLessThanOrEqual(10);
    // An evicted holder's later chunks are refused, and its release frees nothing twice.
    for (const i of evicted) {
      expect(held[i]?.grow(1)).toBe(false);
      held[i]?.release();
    }
    expect(budget.held()).toBeLessThanOrEqual(10);
  });

  it("never evicts a settled body (its decision is under way): the newcomer that does not fit goes", () => {
    const budget = new LoadBudget(10, 10);
    let evicted = false;
    const deciding = budget.take(() => {
      evicted = true;
    });
    deciding?.grow(8);
    deciding?.settle();
    const newcomer = budget.take(() => {});
    expect(newcomer?.grow(3)).toBe(false);
    expect(evicted).toBe(false);
    expect(budget.held()).toBe(8);
  });

  it("lets one body larger than the whole budget through alone, until another arrives", () => {
    const budget = new LoadBudget(10, 10);
    let evicted = false;
    const big = budget.take(() => {
      evicted = true;
    });
    expect(big?.grow(50)).toBe(true);
    const small = budget.take(() => {});
    expect(small?.grow(1)).toBe(true);
    expect(evicted).toBe(true);
    expect(budget.held()).toBe(1);
    small?.release();
    big?.release();
    expect(budget.held()).toBe(0);
  });
});
