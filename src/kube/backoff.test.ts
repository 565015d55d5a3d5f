import { describe, expect, it } from "vitest";
import { backoffDelay, jitter, transientStatus } from "./backoff.ts";

describe("backoffDelay", () => {
  const policy = { baseMs: 500, capMs: 5000 };
  it.each([
    [0, 0],
    [1, 500],
    [2, 1000],
    [4, 4000],
    [5, 5000],
    [500, 5000],
  ])("after %i failures waits %i ms (no jitter drawn)", (failures, expected) => {
    expect(backoffDelay(failures, policy, () => 0.5)).toBe(expected);
  });

  it("spreads by ±jitter", () => {
    expect(backoffDelay(1, { ...policy, jitter: 0.2 }, () => 0)).toBe(400);
    expect(backoffDelay(1, { ...policy, jitter: 0.2 }, () => 1)).toBe(600);
    expect(backoffDelay(3, { ...policy, jitter: 0 }, () => 0)).toBe(2000);
  });
});

describe("jitter", () => {
  it.each([
    [0, 80],
    [0.5, 100],
    [1, 120],
  ])("draws %f → %f for 100 ±20%%", (draw, expected) => {
    expect(jitter(100, 0.2, () => draw)).toBeCloseTo(expected);
  });
});

describe("transientStatus", () => {
  it.each([
    [0, true],
    [408, true],
    [429, true],
    [500, true],
    [503, true],
    [400, false],
    [401, false],
    [404, false],
    [409, false],
    [422, false],
  ])("%i → %s", (code, transient) => expect(transientStatus(code)).toBe(transient));
});
