import { describe, expect, it } from "vitest";
import { RecentStarts } from "./recent-starts.ts";

describe("RecentStarts", () => {
  it.each<[string, { at: number; fence: number }, boolean]>([
    ["the same start within the grace", { at: 9_999, fence: 3 }, true],
    ["another fence (a slot granted again)", { at: 5_000, fence: 4 }, false],
    ["past the grace: started again", { at: 10_000, fence: 3 }, false],
  ])("%s", (_, asked, recent) => {
    let now = 0;
    const starts = new RecentStarts(10_000, () => now);
    starts.record("ns/a", 3);
    now = asked.at;
    expect(starts.isRecent("ns/a", asked.fence)).toBe(recent);
  });

  it("keeps only starts within the grace, and forgets a run seen started", () => {
    let now = 0;
    const starts = new RecentStarts(10_000, () => now);
    for (let i = 0; i < 100; i++) {
      now = i * 1000;
      starts.record(`ns/r${i}`, i);
    }
    expect(starts.size).toBe(10);
    starts.forget("ns/r99");
    expect(starts.isRecent("ns/r99", 99)).toBe(false);
  });
});
