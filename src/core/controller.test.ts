import { Registry } from "prom-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../observability/logger.ts";
import { RecordingEvents } from "../testing/runs.ts";
import { Controller, type ReconcileResult, sooner, TerminalError } from "./controller.ts";
import { ControllerMetrics } from "./controller-metrics.ts";

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

  it("reconciles a change before the term's initial keys and an informer's resyncs", async () => {
    const { cache, open } = gate();
    const seen: string[] = [];
    let release!: () => void;
    const busy = new Promise<void>((resolve) => {
      release = resolve;
    });
    const controller = new Controller({
      name: "t",
      reconcile: async (key) => {
        seen.push(key);
        if (key === "busy") await busy;
        return undefined;
      },
      caches: [cache],
      initialKeys: () => ["initial-1", "initial-2"],
      concurrency: 1,
      logger: silentLogger(),
    });
    const term = new AbortController();
    controller.run(term.signal);
    open();
    // The one worker is busy; meanwhile the term's keys, a resync and a change are queued.
    controller.enqueue("busy");
    await vi.waitFor(() => expect(seen).toEqual(["busy"]));
    controller.enqueueFor("resynced", "resync");
    controller.enqueueFor("changed", "updated");
    release();
    await vi.waitFor(() => expect(seen).toHaveLength(5));
    term.abort();
    expect(seen.slice(0, 2)).toEqual(["busy", "changed"]);
    expect(seen.slice(2).sort()).toEqual(["initial-1", "initial-2", "resynced"]);
  });

  it("is settled once the reconciles of an ended term are over, not when the term ends", async () => {
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const log: string[] = [];
    const controller = new Controller({
      name: "t",
      reconcile: async (key) => {
        log.push(`start ${key}`);
        await finished;
        log.push(`end ${key}`);
        return undefined;
      },
      caches: [],
      initialKeys: () => ["a"],
      concurrency: 1,
      logger: silentLogger(),
    });
    const term = new AbortController();
    controller.run(term.signal);
    await vi.waitFor(() => expect(log).toEqual(["start a"]));
    term.abort();
    const settled = controller.settled().then(() => log.push("settled"));
    await Promise.resolve();
    expect(log).toEqual(["start a"]);
    finish();
    await settled;
    expect(log).toEqual(["start a", "end a", "settled"]);
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

  describe("requeues, all through the shell", () => {
    afterEach(() => vi.useRealTimers());

    /** A controller of key "a" whose reconciles answer from `script` in turn (then success), at fake times. */
    function scripted(script: (() => ReconcileResult | undefined)[]) {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
      const calls: number[] = [];
      const registry = new Registry();
      const metrics = new ControllerMetrics(registry);
      const events = new RecordingEvents();
      const controller = new Controller({
        name: "t",
        reconcile: () => {
          calls.push(performance.now());
          return (script.shift() ?? (() => undefined))();
        },
        caches: [],
        initialKeys: () => ["a"],
        concurrency: 1,
        logger: silentLogger(),
      });
      controller.instrument({ metrics, events });
      const term = new AbortController();
      const results = async () =>
        Object.fromEntries(
          ((await registry.getSingleMetric("tekton_lineage_reconcile_total")?.get())?.values ?? []).map(
            (v) => [v.labels.result, v.value],
          ),
        );
      return {
        controller,
        calls,
        events,
        results,
        start: () => controller.run(term.signal),
        stop: () => term.abort(),
      };
    }

    const policy = { baseMs: 1000, capMs: 8000, jitter: 0 };

    it.each<[string, (() => ReconcileResult | undefined)[], number[], Record<string, number>]>([
      [
        "backs a retry off by the key's failures in a row; a result without one ends the run",
        [
          () => ({ retry: { policy } }),
          () => ({ retry: { policy } }),
          () => ({ retry: { policy } }),
          () => ({ requeueAfterMs: 500 }),
          () => ({ retry: { policy } }),
        ],
        // 1 s, 2 s, 4 s, then the asked 500 ms; the next failure starts again from 1 s.
        [0, 1000, 3000, 7000, 7500, 8500],
        { retry: 4, requeue_after: 1, success: 1 },
      ],
      [
        "waits at least what the other side asked, and the sooner of a retry and a timer",
        [() => ({ retry: { policy, atLeastMs: 3000 } }), () => ({ retry: { policy }, requeueAfterMs: 200 })],
        [0, 3000, 3200],
        { retry: 2, success: 1 },
      ],
      [
        "backs off a reconcile that throws",
        [
          () => {
            throw new Error("conflict");
          },
          () => {
            throw new Error("conflict");
          },
        ],
        // 100 ms, then 200 ms.
        [0, 100, 300],
        { error: 2, success: 1 },
      ],
    ])("%s", async (_what, script, times, counted) => {
      const { calls, results, start, stop } = scripted(script);
      start();
      await vi.advanceTimersByTimeAsync(20_000);
      stop();
      expect(calls).toHaveLength(times.length);
      // Exact without jitter; a thrown reconcile's backoff is jittered ±20% (at most 60 ms here).
      for (const [i, at] of calls.entries()) expect(Math.abs(at - (times[i] ?? 0))).toBeLessThanOrEqual(60);
      expect(await results()).toEqual(counted);
    });

    it("says a terminal error once, on the object, and never retries it", async () => {
      const { calls, events, results, start, stop } = scripted([
        () => {
          throw new TerminalError("metadata.annotations: Too long: must have at most 262144 bytes", {
            namespace: "ns",
            objectName: "build-1",
            reason: "CannotAnnotate",
          });
        },
      ]);
      start();
      await vi.advanceTimersByTimeAsync(60_000);
      stop();
      expect(calls).toHaveLength(1);
      expect(events.events.map((e) => [e.namespace, e.objectName, e.reason, e.type])).toEqual([
        ["ns", "build-1", "CannotAnnotate", "Warning"],
      ]);
      expect(await results()).toEqual({ terminal: 1 });
    });
  });
});
