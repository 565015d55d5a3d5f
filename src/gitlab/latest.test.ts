import { describe, expect, it } from "vitest";
import type { PipelineRun } from "../core/tekton.ts";
import { latestAttempt } from "./latest.ts";

const run = (attempt: number): PipelineRun => ({
  metadata: {
    name: `build-x-${attempt}`,
    annotations: { "tekton-lineage.io/attempt": String(attempt), "tekton-lineage.io/lineage": "L" },
  },
});

describe("latestAttempt", () => {
  it("is the run with the highest attempt when the counter agrees", () => {
    const latest = latestAttempt([run(1), run(2)], { last: 2, lastName: "build-x-2", lineageKey: "L" });
    expect(latest).toMatchObject({ attempt: 2, name: "build-x-2" });
    expect(latest?.run).toBeDefined();
  });

  it("is an attempt without a run when the counter is ahead (admitted, never created)", () => {
    const latest = latestAttempt([run(1)], { last: 2, lastName: "build-x-2", lineageKey: "L" });
    expect(latest).toMatchObject({ attempt: 2, name: "build-x-2", run: undefined });
    expect(latest?.reportFrom.metadata.name).toBe("build-x-1");
  });

  it("ignores a counter of another lineage sharing the id, and a lineage without runs", () => {
    expect(latestAttempt([run(1)], { last: 5, lastName: "other-5", lineageKey: "M" })?.attempt).toBe(1);
    expect(latestAttempt([], { last: 1, lastName: "x", lineageKey: "L" })).toBeUndefined();
  });
});

describe("latestAttempt without any run", () => {
  it("reports the first attempt from what was admitted when it was never created", () => {
    const latest = latestAttempt([], {
      last: 1,
      lastName: "build-x-1",
      lineageKey: "L",
      lastSubject: { namespace: "team-a", annotations: { "pipelinesascode.tekton.dev/sha": "abc" } },
    });
    expect(latest).toMatchObject({ attempt: 1, name: "build-x-1", run: undefined });
    expect(latest?.reportFrom.metadata).toMatchObject({
      namespace: "team-a",
      annotations: { "pipelinesascode.tekton.dev/sha": "abc", "tekton-lineage.io/lineage": "L" },
    });
  });
});
