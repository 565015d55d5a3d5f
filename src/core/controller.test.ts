import { describe, expect, it, vi } from "vitest";
import { silentLogger } from "../observability/logger.ts";
import { Controller, sooner } from "./controller.ts";

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const cache = { synced: false, whenSynced: () => opened };
  return {
    cache,
    open: () => {
      cache.synced = true;
      open();
    },
  };
}

describe("sooner", () => {
  it.each([
    [undefined, undefined, undefined],
    [5, undefined, 5],
    [undefined, 7, 7],
    [9, 3, 3],
  ])("sooner(%s, %s) = %s", (a, b, expected) => expect(sooner(a, b)).toBe(expected));
});

describe("Controller", () => {
  it("waits for its caches, then reconciles every initial key and what was enqueued meanwhile", async () => {
    const { cache, open } = gate();
    const seen: string[] = [];
    const controller = new Controller({
      name: "t",
      reconcile: (key) => {
        seen.push(cache.synced ? key : `${key} before the caches synced`);
        return undefined;
      },
      caches: [cache],
      initialKeys: () => ["a", "b"],
      concurrency: 1,
      logger: silentLogger(),
    });
    controller.enqueue("dropped before the term");
    const term = new AbortController();
    controller.run(term.signal);
    controller.enqueue("c");
    open();
    await vi.waitFor(() => expect(seen.sort()).toEqual(["a", "b", "c"]));
    term.abort();
    expect(controller.running).toBe(false);
  });

  it("comes back when the reconcile asks, and not after the term ends", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    try {
      const calls: number[] = [];
      const controller = new Controller({
        name: "t",
        reconcile: () => {
          calls.push(performance.now());
          return { requeueAfterMs: 1000 };
        },
        caches: [],
        initialKeys: () => ["a"],
        concurrency: 1,
        logger: silentLogger(),
      });
      const term = new AbortController();
      controller.run(term.signal);
      await vi.advanceTimersByTimeAsync(2500);
      expect(calls).toHaveLength(3);
      term.abort();
      await vi.advanceTimersByTimeAsync(5000);
      expect(calls).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
