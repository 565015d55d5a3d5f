import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../observability/logger.ts";
import { BucketTerms } from "./bucket-terms.ts";

/** A partitioned cache whose lists finish when the test says, and which records what it was asked. */
function cache() {
  const listed: string[][] = [];
  let finishList: () => void = () => {};
  let slow = false;
  return {
    listed,
    set slow(value: boolean) {
      slow = value;
    },
    finish: () => finishList(),
    async setPartitions(values: readonly string[]) {
      listed.push([...values].sort());
      if (slow) await new Promise<void>((resolve) => (finishList = resolve));
    },
  };
}

function terms(lingerMs = 0) {
  const partitions = cache();
  const log: string[] = [];
  let drains = 0;
  const subject = new BucketTerms({
    count: 4,
    caches: [partitions],
    start: (signal, held) => {
      const name = [...held].sort().join(",");
      log.push(`start ${name}`);
      signal.addEventListener("abort", () => log.push(`end ${name}`));
    },
    drain: async () => {
      drains += 1;
      log.push("drained");
    },
    logger: silentLogger(),
    lingerMs,
  });
  return { subject, partitions, log, drains: () => drains };
}

describe("BucketTerms", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] }));
  afterEach(() => vi.useRealTimers());

  it("lists a gained bucket while the current term goes on, then switches terms", async () => {
    const { subject, partitions, log } = terms();
    await subject.change(new Set([0]));
    expect(log).toEqual(["drained", "start 0"]);
    partitions.slow = true;
    const switching = subject.change(new Set([0, 1]));
    await vi.advanceTimersByTimeAsync(0);
    // Listing 1: the term of 0 still runs, and the controllers see only 0.
    expect(log).toEqual(["drained", "start 0"]);
    expect([...subject.held]).toEqual([0]);
    partitions.slow = false;
    partitions.finish();
    await switching;
    expect(log).toEqual(["drained", "start 0", "end 0", "drained", "start 0,1"]);
    expect(partitions.listed.at(-1)).toEqual(["0-of-4", "1-of-4"]);
  });

  it("ends the term at once when a bucket is lost, drains it, and only then shows the rest", async () => {
    const { subject, log } = terms();
    await subject.change(new Set([0, 1]));
    const switching = subject.change(new Set([1]));
    // Synchronously: no controller acts on bucket 0 from now on.
    expect(log.at(-1)).toBe("end 0,1");
    expect([...subject.held].sort()).toEqual([0, 1]);
    await switching;
    expect(log.slice(-3)).toEqual(["end 0,1", "drained", "start 1"]);
    expect([...subject.held]).toEqual([1]);
  });

  it("keeps a lost bucket listed a while, unseen, so taking it back soon lists nothing again", async () => {
    const { subject, partitions } = terms(60_000);
    await subject.change(new Set([0, 1]));
    await subject.change(new Set([1]));
    expect(partitions.listed.at(-1)).toEqual(["0-of-4", "1-of-4"]);
    expect([...subject.held]).toEqual([1]);
    await subject.change(new Set([0, 1]));
    expect(partitions.listed.every((values) => values.includes("0-of-4"))).toBe(true);
    await subject.change(new Set([1]));
    await vi.advanceTimersByTimeAsync(60_001);
    await subject.settled();
    expect(partitions.listed.at(-1)).toEqual(["1-of-4"]);
  });
});
