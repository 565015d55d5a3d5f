import { describe, expect, it } from "vitest";
import type { PipelineRun } from "../../core/tekton.ts";
import type { CounterRecord } from "../../lineage/attempt-plan.ts";
import { type Corroboration, type LineageAttempts, latestToReport, lineageAttempts } from "./latest.ts";

const run = (attempt: number): PipelineRun => ({
  metadata: {
    name: `build-x-${attempt}`,
    annotations: { "tekton-lineage.io/attempt": String(attempt), "tekton-lineage.io/lineage": "L" },
  },
});
/** Attempt n was admitted at 10:0n. */
const admittedAt = (attempt: number) => `2026-11-22T10:0${attempt}:00Z`;
const counter = (last: number, patch: Partial<CounterRecord> = {}): CounterRecord => ({
  last,
  lastName: `build-x-${last}`,
  lineageKey: "L",
  lastSubject: {
    namespace: "team-a",
    annotations: { "pipelinesascode.tekton.dev/sha": "abc" },
    admittedAt: admittedAt(last),
  },
  earlier: Array.from({ length: Math.min(3, last - 1) }, (_, i) => ({
    attempt: last - 1 - i,
    name: `build-x-${last - 1 - i}`,
    admittedAt: admittedAt(last - 1 - i),
  })),
  ...patch,
});
const denied: Corroboration = () => ({ error: 'admission webhook "policy" denied the request', at: 0 });
/** PaC's record of a collision of the attempt admitted at that time. */
const collided: Corroboration = (_record, at) => ({
  error: `pipelineruns.tekton.dev "build-x-${new Date(at).getUTCMinutes()}" already exists`,
  at,
});
const nothing: Corroboration = () => undefined;

describe("lineageAttempts", () => {
  it.each<[string, PipelineRun[], CounterRecord | undefined, Corroboration, LineageAttempts | object]>([
    [
      "the newest run when the counter agrees",
      [run(1), run(2)],
      counter(2),
      denied,
      { newest: { attempt: 2 }, newer: undefined },
    ],
    [
      "a newer attempt, with PaC's record of its failure",
      [run(1)],
      counter(2),
      denied,
      { newest: { attempt: 1 }, newer: { attempt: 2, failure: denied(counter(2), 0, "") } },
    ],
    [
      "a newer attempt nobody says failed",
      [run(1)],
      counter(2),
      nothing,
      { newer: { attempt: 2, failure: undefined } },
    ],
    [
      "no newer attempt when its admission fell back",
      [run(1)],
      counter(2, { fallenBack: [2] }),
      denied,
      { newer: undefined },
    ],
    [
      "no newer attempt from another lineage's counter",
      [run(1)],
      counter(5, { lineageKey: "M" }),
      denied,
      { newer: undefined },
    ],
  ])("finds %s", (_name, runs, record, corroborate, expected) => {
    const found = lineageAttempts(runs, record, corroborate);
    expect(found).toMatchObject(
      Object.fromEntries(Object.entries(expected).filter(([, v]) => v !== undefined)),
    );
    for (const [key, value] of Object.entries(expected))
      if (value === undefined) expect(found).not.toHaveProperty(key);
  });

  it.each<[string, PipelineRun[], Corroboration, number[]]>([
    ["earlier attempts without a run whose failure names their run", [run(1), run(4)], collided, [3, 2]],
    ["none when PaC's record names no run (the run may have been pruned)", [run(1), run(4)], denied, []],
    ["none when every earlier attempt has its run", [run(1), run(2), run(3), run(4)], collided, []],
  ])("finds as failed earlier %s", (_name, runs, corroborate, failed) => {
    const found = lineageAttempts(runs, counter(4), corroborate);
    expect(found.failedEarlier?.map((f) => f.attempt)).toEqual(failed);
  });

  it("reports a first attempt that was never created from what its admission kept", () => {
    const { newer } = lineageAttempts([], counter(1), denied);
    expect(newer?.reportFrom.metadata).toMatchObject({
      name: "build-x-1",
      namespace: "team-a",
      annotations: { "pipelinesascode.tekton.dev/sha": "abc", "tekton-lineage.io/lineage": "L" },
    });
  });
});

describe("latestToReport", () => {
  const grace = 30_000;
  const of = (corroborate: Corroboration, runs = [run(1)]) => lineageAttempts(runs, counter(2), corroborate);

  it.each<
    [string, LineageAttempts, number, { attempt?: number; creationError?: string; lookAgainMs?: number }]
  >([
    [
      "the newest run while nobody says the newer attempt failed",
      of(nothing),
      0,
      { attempt: 1, lookAgainMs: 30_050 },
    ],
    ["still the newest run after the grace, when nobody said it failed", of(nothing), 40_000, { attempt: 1 }],
    [
      "the failure at once when the API server's words name the attempt's run",
      of(collided),
      0,
      { attempt: 2, creationError: 'pipelineruns.tekton.dev "build-x-2" already exists' },
    ],
    [
      "the newest run during the grace when the failure names no run (another commit's?)",
      of(denied),
      1000,
      { attempt: 1, lookAgainMs: 29_050 },
    ],
    [
      "the failure once the grace passed without the run",
      of(denied),
      30_000,
      { attempt: 2, creationError: 'admission webhook "policy" denied the request' },
    ],
    ["nothing while a pruned lineage's counter is unconfirmed", of(nothing, []), 0, { lookAgainMs: 30_050 }],
  ])("is %s", (_name, attempts, waited, expected) => {
    const { latest, lookAgainMs } = latestToReport(attempts, waited, grace);
    expect({ attempt: latest?.attempt, creationError: latest?.creationError, lookAgainMs }).toEqual({
      attempt: expected.attempt,
      creationError: expected.creationError,
      lookAgainMs: expected.lookAgainMs,
    });
  });
});
