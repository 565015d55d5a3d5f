import { describe, expect, it } from "vitest";
import type { PipelineRun } from "../core/tekton.ts";
import type { CounterRecord } from "../lineage/attempt-plan.ts";
import { type Corroboration, type LineageAttempts, latestToReport, lineageAttempts } from "./latest.ts";

const run = (attempt: number): PipelineRun => ({
  metadata: {
    name: `build-x-${attempt}`,
    annotations: { "tekton-lineage.io/attempt": String(attempt), "tekton-lineage.io/lineage": "L" },
  },
});
const counter = (last: number, patch: Partial<CounterRecord> = {}): CounterRecord => ({
  last,
  lastName: `build-x-${last}`,
  lineageKey: "L",
  lastSubject: { namespace: "team-a", annotations: { "pipelinesascode.tekton.dev/sha": "abc" } },
  ...patch,
});
const denied: Corroboration = () => ({ error: 'admission webhook "policy" denied the request' });
const collided: Corroboration = (r) => ({ error: `pipelineruns.tekton.dev "${r.lastName}" already exists` });
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
      { newest: { attempt: 1 }, newer: { attempt: 2, failure: denied(counter(2)) } },
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
