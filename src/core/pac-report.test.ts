import { describe, expect, it } from "vitest";
import { pipelineRun } from "../testing/runs.ts";
import { inPacQueue, pacTakeoverPending, pacWillReport, takeOverReport } from "./pac-report.ts";

const state = "pipelinesascode.tekton.dev/state";
const made = (annotations: Record<string, string>, labels: Record<string, string> = { [state]: "started" }) =>
  pipelineRun({ name: "build-x-1", annotations, labels });

describe("what PaC's watcher will still report", () => {
  it.each<[string, ReturnType<typeof made>, boolean, boolean]>([
    ["a run PaC took over (state started)", made({ [state]: "started" }), true, false],
    [
      "a run PaC queues itself (execution-order)",
      made({ [state]: "queued", "pipelinesascode.tekton.dev/execution-order": "ns/a" }),
      true,
      true,
    ],
    ["a run PaC reported (completed)", made({ [state]: "completed" }), false, false],
    ["a run PaC never took over", made({}), false, false],
  ])("%s", (_what, run, reports, queued) => {
    expect(pacWillReport(run)).toBe(reports);
    expect(inPacQueue(run)).toBe(queued);
  });

  it("takes a report over with PaC's own state completed, label and annotation, and why", () => {
    expect(takeOverReport(made({ [state]: "started" }), "superseded")).toEqual({
      annotations: { [state]: "completed", "tekton-lineage.io/pac-report-taken-over": "superseded" },
      labels: { [state]: "completed" },
    });
    expect(
      takeOverReport(made({ [state]: "queued", "pipelinesascode.tekton.dev/execution-order": "x" }), "y"),
    ).toEqual({
      annotations: {},
      labels: {},
    });
  });

  it("waits for PaC's state patch only within a minute of the create", () => {
    const run = made({});
    run.metadata.creationTimestamp = "2026-11-22T10:00:00Z";
    const at = Date.parse("2026-11-22T10:00:00Z");
    expect(pacTakeoverPending(run, at + 1_000)).toBe(true);
    expect(pacTakeoverPending(run, at + 61_000)).toBe(false);
    expect(pacTakeoverPending(made({ [state]: "started" }), at)).toBe(false);
  });
});
