import { describe, expect, it } from "vitest";
import type { PipelineRun } from "../../core/tekton.ts";
import {
  endedRunWatches,
  newMemory,
  nextReadAfterRunEnded,
  nextResync,
  noticeCreationFailure,
  noticeEndedRuns,
  quietKey,
  readsAfterRunEnded,
} from "./lineage-memory.ts";

type Shape = "running" | "succeeded" | "cancelled";

/** A run of attempt `attempt`; `pac`: PaC's state annotation; `taken`: tekton-lineage took its report. */
const run = (
  attempt: number,
  shape: Shape,
  extra: { pac?: string; taken?: boolean; cancelRequested?: boolean } = {},
): PipelineRun => ({
  metadata: {
    name: `a-${attempt}`,
    annotations: {
      "tekton-lineage.io/attempt": String(attempt),
      ...(extra.pac ? { "pipelinesascode.tekton.dev/state": extra.pac } : {}),
      ...(extra.taken ? { "tekton-lineage.io/pac-report-taken-over": "superseded" } : {}),
    },
  },
  spec: extra.cancelRequested ? { status: "Cancelled" } : {},
  status: {
    conditions: [
      {
        type: "Succeeded",
        ...({
          running: { status: "Unknown", reason: "Running" },
          succeeded: { status: "True", reason: "Succeeded" },
          cancelled: { status: "False", reason: "Cancelled" },
        }[shape] as { status: "Unknown" | "True" | "False"; reason: string }),
      },
    ],
  },
});
const known = { key: "k", status: { id: 1, status: "running", targetUrl: "", description: "" }, at: 0 };

describe("endedRunWatches", () => {
  it.each([
    ["a run still running", run(1, "running", { pac: "started" }), 1, "none"],
    ["the latest attempt's run, ended, PaC to report it", run(1, "succeeded", { pac: "started" }), 1, "pac"],
    [
      "the latest attempt's run, ended, PaC reported it",
      run(1, "succeeded", { pac: "completed" }),
      1,
      "none",
    ],
    ["the latest attempt's run, not PaC's", run(1, "succeeded"), 1, "none"],
    ["an older attempt's run PaC would report", run(1, "succeeded", { pac: "started" }), 2, "guarded"],
    ["an older attempt's run PaC reported itself", run(1, "succeeded", { pac: "completed" }), 2, "none"],
    [
      "an older attempt's run whose report was taken",
      run(1, "cancelled", { pac: "completed", taken: true }),
      2,
      "guarded",
    ],
    [
      "the latest attempt's run someone cancelled",
      run(1, "cancelled", { pac: "started", cancelRequested: true }),
      1,
      "guarded",
    ],
    [
      "the latest attempt's run whose report was taken",
      run(1, "succeeded", { pac: "completed", taken: true }),
      1,
      "guarded",
    ],
  ])("%s: %s", (_name, r, newest, expected) => {
    const { guarded, awaitingPacReport } = endedRunWatches([r], newest);
    const watch = guarded.has("a-1") ? "guarded" : awaitingPacReport.has("a-1") ? "pac" : "none";
    expect(watch).toBe(expected);
  });
});

describe("reads after a run of the lineage ended", () => {
  /** Follows the reads a lineage asks for from `from` on, `runs` unchanged: when each was due (ms after `from`). */
  const readsFrom = (
    memory: ReturnType<typeof newMemory>,
    runs: PipelineRun[],
    newest: number,
    from: number,
  ) => {
    const reads: number[] = [];
    let now = from;
    for (let i = 0; i < 10; i++) {
      const next = nextReadAfterRunEnded(memory, now);
      if (next === undefined) break;
      now += next;
      memory.known = { ...known, at: now };
      noticeEndedRuns(memory, runs, newest, now);
      if (memory.known.at === Number.NEGATIVE_INFINITY) reads.push(now - from);
    }
    return reads;
  };
  const expectSchedule = (reads: number[]) => {
    expect(reads).toHaveLength(readsAfterRunEnded.length);
    reads.forEach((at, i) => {
      expect(at).toBeGreaterThanOrEqual(readsAfterRunEnded[i] ?? 0);
      expect(at).toBeLessThan((readsAfterRunEnded[i] ?? 0) + 50);
    });
  };

  it("reads GitLab on PaC's schedule after an older attempt ends, and not for runs already done at start", () => {
    const memory = newMemory();
    memory.known = known;
    const older = (shape: Shape) => run(1, shape, { pac: "completed", taken: true });
    noticeEndedRuns(memory, [run(0, "succeeded", { pac: "completed", taken: true }), older("running")], 2, 0);
    expect(memory.known.at).toBe(0);
    expect(nextReadAfterRunEnded(memory, 0)).toBeUndefined();

    const ended = [run(0, "succeeded", { pac: "completed", taken: true }), older("cancelled")];
    noticeEndedRuns(memory, ended, 2, 100);
    expect(memory.known.at).toBe(0);
    expectSchedule(readsFrom(memory, ended, 2, 100));
    expect(nextReadAfterRunEnded(memory, 10_000_000)).toBeUndefined();
  });

  it("reads once when PaC reports the latest attempt's run, and on the schedule once a newer attempt makes it stale", () => {
    const memory = newMemory();
    memory.known = known;
    noticeEndedRuns(memory, [run(1, "running", { pac: "started" })], 1, 0);
    // It ended: PaC will report it, in the same state; no timer.
    noticeEndedRuns(memory, [run(1, "succeeded", { pac: "started" })], 1, 100);
    expect(memory.known.at).toBe(0);
    expect(nextReadAfterRunEnded(memory, 100)).toBeUndefined();
    // PaC posted its final status, then wrote its state: read now, once.
    noticeEndedRuns(memory, [run(1, "succeeded", { pac: "completed" })], 1, 200);
    expect(memory.known.at).toBe(Number.NEGATIVE_INFINITY);
    memory.known = { ...known, at: 200 };
    noticeEndedRuns(memory, [run(1, "succeeded", { pac: "completed" })], 1, 300);
    expect(memory.known.at).toBe(200);
    expect(nextReadAfterRunEnded(memory, 300)).toBeUndefined();

    // Another lineage's history: ended, PaC not yet reported, and attempt 2 admitted — the schedule starts.
    const stale = newMemory();
    stale.known = known;
    noticeEndedRuns(stale, [run(1, "succeeded", { pac: "started" })], 1, 0);
    const taken = [run(1, "succeeded", { pac: "completed", taken: true })];
    noticeEndedRuns(stale, taken, 2, 5000);
    expect(stale.known.at).toBe(0);
    expectSchedule(readsFrom(stale, taken, 2, 5000));
  });

  it("takes no read for the latest attempt's run that nobody else reports", () => {
    const memory = newMemory();
    memory.known = known;
    noticeEndedRuns(memory, [run(1, "running")], 1, 0);
    noticeEndedRuns(memory, [run(1, "succeeded")], 1, 100);
    expect(memory.known.at).toBe(0);
    expect(nextReadAfterRunEnded(memory, 100)).toBeUndefined();
  });
});

describe("nextResync", () => {
  const minute = 60_000;
  const wallNow = Date.parse("2026-12-06T10:00:00Z");
  /** A run of `shape` that ended `endedAgoMs` before wallNow (no completionTime when undefined). */
  const ended = (shape: Shape, endedAgoMs?: number): PipelineRun => {
    const r = run(1, shape);
    if (endedAgoMs !== undefined && r.status)
      r.status.completionTime = new Date(wallNow - endedAgoMs).toISOString();
    return r;
  };
  /** The resyncs asked for over successive reconciles, each a resync later than the one before. */
  const resyncs = (latest: { run?: PipelineRun; creationFailedAt?: number }) => {
    const memory = newMemory();
    const asked: (number | undefined)[] = [];
    for (let i = 0; i < 4; i++)
      asked.push(
        nextResync(memory, latest, 2 * minute, () => 0, {
          now: i * 2 * minute,
          wallNow: wallNow + i * 2 * minute,
        }),
      );
    return asked;
  };
  it.each([
    [
      "a running run: every resync",
      { run: ended("running") },
      [2 * minute, 2 * minute, 2 * minute, 2 * minute],
    ],
    [
      "a run that just ended: twice more",
      { run: ended("succeeded", 1000) },
      [2 * minute, 2 * minute, undefined, undefined],
    ],
    [
      "a run whose end time is not known: twice more",
      { run: ended("succeeded") },
      [2 * minute, 2 * minute, undefined, undefined],
    ],
    [
      "a run ended one and a half resyncs ago: once more",
      { run: ended("succeeded", 3 * minute) },
      [2 * minute, undefined, undefined, undefined],
    ],
    [
      "a run ended long ago (a restart, a bucket taken over): no more",
      { run: ended("succeeded", 60 * minute) },
      [undefined, undefined, undefined, undefined],
    ],
    ["an attempt with no run: twice more", {}, [2 * minute, 2 * minute, undefined, undefined]],
    [
      "an attempt never created, its failure recorded long ago: no more",
      { creationFailedAt: wallNow - 60 * minute },
      [undefined, undefined, undefined, undefined],
    ],
  ])("%s", (_name, latest, asked) => {
    expect(resyncs(latest)).toEqual(asked);
  });

  it("counts the resyncs after done in time, not in reconciles: one for another change reads nothing", () => {
    const memory = newMemory();
    const r = ended("succeeded");
    const clocks = (now: number) => ({ now, wallNow: wallNow + now });
    expect(nextResync(memory, { run: r }, 2 * minute, () => 0, clocks(0))).toBe(2 * minute);
    // A reconcile for a write of tekton-lineage's own, a moment later: not a check.
    expect(nextResync(memory, { run: r }, 2 * minute, () => 0, clocks(100))).toBe(2 * minute);
    expect(nextResync(memory, { run: r }, 2 * minute, () => 0, clocks(2 * minute))).toBe(2 * minute);
    expect(nextResync(memory, { run: r }, 2 * minute, () => 0, clocks(4 * minute))).toBeUndefined();
  });

  it("spreads a resync upwards only: one sooner would find what is known still fresh, and read nothing", () => {
    const at = (random: number) =>
      nextResync(newMemory(), { run: ended("running") }, 2 * minute, () => random, { now: 0, wallNow });
    expect([at(0), at(0.5), at(1)].map((ms) => Math.round(ms ?? 0))).toEqual([120_000, 132_000, 144_000]);
  });
});

describe("quietKey", () => {
  const view = {
    runs: [{ ...run(1, "succeeded"), metadata: { name: "a-1", resourceVersion: "7" } }],
    unadmitted: [],
    createdDespite: [],
  };
  const desired = {
    state: "success" as const,
    description: "attempt 1 succeeded",
    targetUrl: "https://c/a-1",
    attempt: 1,
  };
  const target = { host: "gitlab.example", projects: ["1001"], sha: "abc", context: "CI / build" };
  const base = quietKey(view, 1, desired, target, undefined);
  it.each([
    [
      "a run written (its version)",
      () =>
        quietKey(
          { ...view, runs: [{ ...view.runs[0], metadata: { name: "a-1", resourceVersion: "8" } }] },
          1,
          desired,
          target,
          undefined,
        ),
    ],
    ["a newer attempt admitted", () => quietKey(view, 2, desired, target, undefined)],
    ["PaC recorded a failed create", () => quietKey(view, 1, desired, target, 1_700_000_000_000)],
    [
      "PaC failures with no admission",
      () => quietKey({ ...view, unadmitted: [{} as never] }, 1, desired, target, undefined),
    ],
    ["another description", () => quietKey(view, 1, { ...desired, description: "x" }, target, undefined)],
    ["another link", () => quietKey(view, 1, { ...desired, targetUrl: "" }, target, undefined)],
    [
      "another status name",
      () => quietKey(view, 1, desired, { ...target, context: "CI / other" }, undefined),
    ],
    ["another project", () => quietKey(view, 1, desired, { ...target, projects: ["1000"] }, undefined)],
    [
      "its part of the commit's bare status (an earlier attempt's create failed)",
      () =>
        quietKey(view, 1, desired, target, undefined, {
          pipeline: "build",
          latest: { ...desired, name: "CI / build" },
          latestMissing: false,
          failed: [{ attempt: 1, error: "denied", at: 1 }],
        }),
    ],
  ])("changes with %s", (_name, changed) => {
    expect(changed()).not.toBe(base);
  });
  it("is the same for the same lineage", () => {
    expect(quietKey(view, 1, { ...desired }, { ...target }, undefined)).toBe(base);
  });
});

describe("noticeCreationFailure", () => {
  const wallNow = Date.parse("2026-12-06T10:00:00Z");
  it.each([
    ["a failure PaC just recorded: read on the schedule (PaC posts right after its Event)", 2000, true],
    [
      "a failure recorded long ago (a restart, a bucket taken over): PaC posted it long since",
      600_000,
      false,
    ],
  ])("%s", (_name, agoMs, reads) => {
    const memory = newMemory();
    noticeCreationFailure(memory, wallNow - agoMs, { now: 5, wallNow });
    expect(memory.afterRunEnded !== undefined).toBe(reads);
    expect(memory.failureSeen).toBe(wallNow - agoMs);
  });
});
