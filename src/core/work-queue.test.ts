import { afterEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../observability/logger.ts";
import { WorkQueue } from "./work-queue.ts";

/** A handler whose reconciles wait until released, recording starts and ends. */
function held() {
  const log: string[] = [];
  const waiting: (() => void)[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  return {
    log,
    get maxConcurrent() {
      return maxConcurrent;
    },
    handler: async (key: string) => {
      concurrent += 1;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      log.push(`start ${key}`);
      await new Promise<void>((resolve) => waiting.push(resolve));
      log.push(`end ${key}`);
      concurrent -= 1;
    },
    /** Lets every reconcile started so far finish; returns how many. */
    release(): number {
      const released = waiting.splice(0);
      for (const resolve of released) resolve();
      return released.length;
    },
  };
}

describe("WorkQueue", () => {
  it("never runs one key twice at once, and runs it again when it was added meanwhile", async () => {
    const h = held();
    const queue = new WorkQueue({ name: "t", concurrency: 4, logger: silentLogger(), handler: h.handler });
    queue.add("a");
    expect(h.log).toEqual(["start a"]);
    queue.add("a");
    queue.add("a");
    expect(h.log).toEqual(["start a"]);
    expect(h.release()).toBe(1);
    await vi.waitFor(() => expect(h.log).toEqual(["start a", "end a", "start a"]));
    h.release();
    await queue.idle();
    expect(h.log).toEqual(["start a", "end a", "start a", "end a"]);
    expect(h.maxConcurrent).toBe(1);
  });

  it("runs different keys side by side up to its concurrency", async () => {
    const h = held();
    const queue = new WorkQueue({ name: "t", concurrency: 2, logger: silentLogger(), handler: h.handler });
    for (const key of ["a", "b", "c", "d"]) queue.add(key);
    expect(h.log).toEqual(["start a", "start b"]);
    expect(queue.depth).toBe(2);
    h.release();
    await vi.waitFor(() => expect(h.log.filter((l) => l.startsWith("start"))).toHaveLength(4));
    h.release();
    await queue.idle();
    expect(h.maxConcurrent).toBe(2);
  });

  it("takes a hundred thousand keys in order, and lets the event loop run between them", async () => {
    const done: string[] = [];
    let timerFiredAfter: number | undefined;
    const queue = new WorkQueue({
      name: "t",
      concurrency: 4,
      logger: silentLogger(),
      // Reconciles that never wait on I/O: left alone, they would chain as microtasks to the end.
      handler: async (key) => {
        done.push(key);
      },
    });
    setTimeout(() => {
      timerFiredAfter = done.length;
    }, 0);
    const keys = Array.from({ length: 100_000 }, (_, i) => `k${i}`);
    for (const key of keys) queue.add(key);
    await queue.idle();
    expect(done).toEqual(keys);
    // A timer due at once ran long before the last key: a Lease renewal would have too.
    expect(timerFiredAfter).toBeLessThan(1000);
  });

  it("is idle only once nothing waits or runs, and says so without polling", async () => {
    const h = held();
    const queue = new WorkQueue({ name: "t", concurrency: 1, logger: silentLogger(), handler: h.handler });
    await queue.idle();
    queue.add("a");
    queue.add("b");
    let idle = false;
    const whenIdle = queue.idle().then(() => {
      idle = true;
    });
    h.release();
    await vi.waitFor(() => expect(h.log).toEqual(["start a", "end a", "start b"]));
    expect(idle).toBe(false);
    h.release();
    await whenIdle;
    expect(h.log).toEqual(["start a", "end a", "start b", "end b"]);
  });

  it("runs keys added in the background behind every change, and moves one up when it changes", async () => {
    const h = held();
    const queue = new WorkQueue({ name: "t", concurrency: 1, logger: silentLogger(), handler: h.handler });
    queue.add("changed-1");
    // A resync sweeps every key: they wait behind the changes that come meanwhile.
    for (const key of ["swept-1", "swept-2", "swept-3"]) queue.addInBackground(key);
    queue.add("changed-2");
    queue.add("swept-3");
    queue.addInBackground("changed-2");
    expect(queue.depth).toBe(4);
    const starts = () => h.log.filter((l) => l.startsWith("start")).map((l) => l.slice(6));
    for (let i = 0; i < 4; i++) {
      h.release();
      await vi.waitFor(() => expect(starts()).toHaveLength(i + 2));
    }
    h.release();
    await queue.idle();
    expect(starts()).toEqual(["changed-1", "changed-2", "swept-3", "swept-1", "swept-2"]);
  });

  it("gives the background one start in sixteen while changes keep coming, so it is never starved", async () => {
    const done: string[] = [];
    const queue = new WorkQueue({
      name: "t",
      concurrency: 1,
      logger: silentLogger(),
      handler: async (key) => {
        done.push(key);
        // A change keeps coming for every change reconciled.
        if (key.startsWith("change") && done.length < 100) queue.add(`change-${done.length}`);
      },
    });
    queue.add("change-0");
    for (const key of ["swept-1", "swept-2"]) queue.addInBackground(key);
    await queue.idle();
    expect(done.indexOf("swept-1")).toBe(16);
    expect(done.indexOf("swept-2")).toBe(32);
  });

  it("does not run again for a background add a key that is being reconciled (nothing changed)", async () => {
    const h = held();
    const queue = new WorkQueue({ name: "t", concurrency: 1, logger: silentLogger(), handler: h.handler });
    queue.add("a");
    queue.addInBackground("a");
    h.release();
    await queue.idle();
    expect(h.log).toEqual(["start a", "end a"]);
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
