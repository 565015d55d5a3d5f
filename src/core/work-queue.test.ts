import { afterEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../observability/logger.ts";
import { WorkQueue } from "./work-queue.ts";

describe("WorkQueue", () => {
  it("never runs one key twice at once, and runs it again when it was added meanwhile", async () => {
    const log: string[] = [];
    let concurrent = 0;
    let maxConcurrent = 0;
    const queue = new WorkQueue({
      name: "t",
      concurrency: 4,
      logger: silentLogger(),
      handler: async (key) => {
        concurrent += 1;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        log.push(`start ${key}`);
        await new Promise((r) => setTimeout(r, 20));
        log.push(`end ${key}`);
        concurrent -= 1;
      },
    });
    queue.add("a");
    await new Promise((r) => setTimeout(r, 5));
    queue.add("a");
    queue.add("a");
    await queue.idle();
    expect(log).toEqual(["start a", "end a", "start a", "end a"]);
    expect(maxConcurrent).toBe(1);
  });

  it("runs different keys side by side up to its concurrency", async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    const queue = new WorkQueue({
      name: "t",
      concurrency: 2,
      logger: silentLogger(),
      handler: async () => {
        concurrent += 1;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await new Promise((r) => setTimeout(r, 10));
        concurrent -= 1;
      },
    });
    for (const key of ["a", "b", "c", "d"]) queue.add(key);
    await queue.idle();
    expect(maxConcurrent).toBe(2);
  });

  it("retries a failing key with backoff", async () => {
    let calls = 0;
    const queue = new WorkQueue({
      name: "t",
      concurrency: 1,
      logger: silentLogger(),
      handler: async () => {
        calls += 1;
        if (calls < 3) throw new Error("conflict");
      },
    });
    queue.add("a");
    const deadline = Date.now() + 3000;
    while (calls < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(calls).toBe(3);
    queue.stop();
  });

  describe("timers", () => {
    afterEach(() => vi.useRealTimers());

    it("keeps one timer per key, the earliest", async () => {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
      const calls: string[] = [];
      const queue = new WorkQueue({
        name: "t",
        concurrency: 1,
        logger: silentLogger(),
        handler: async (key) => {
          calls.push(key);
        },
      });
      queue.addAfter("a", 5000);
      queue.addAfter("a", 1000);
      queue.addAfter("a", 3000);
      expect(queue.scheduledIn("a")).toBe(1000);
      await vi.advanceTimersByTimeAsync(1000);
      expect(calls).toEqual(["a"]);
      // The later timers were dropped: nothing more fires.
      await vi.advanceTimersByTimeAsync(10_000);
      expect(calls).toEqual(["a"]);
      expect(queue.scheduledIn("a")).toBeUndefined();
      queue.stop();
    });
  });
});
