import { describe, expect, it } from "vitest";
import type { PipelineRun } from "../../core/tekton.ts";
import { pipelineRun } from "../../testing/runs.ts";
import type { LineageView } from "./lineage-view.ts";
import { reportsToTakeOver } from "./pac-reports.ts";

const pacState = "pipelinesascode.tekton.dev/state";
const attempt = (n: number, annotations: Record<string, string> = {}): PipelineRun =>
  pipelineRun({
    name: `build-x-${n}`,
    annotations: { "tekton-lineage.io/attempt": String(n), ...annotations },
    condition: { status: "Unknown", reason: "Running" },
  });
const latestOf = (run: PipelineRun) => ({
  attempt: Number(run.metadata.annotations?.["tekton-lineage.io/attempt"]),
  name: run.metadata.name ?? "",
  run,
  reportFrom: run,
});

describe("reportsToTakeOver", () => {
  const older = attempt(1, { [pacState]: "started" });
  const newest = attempt(2, { [pacState]: "started" });
  it.each<[string, Pick<LineageView, "runs" | "attempts">, string[]]>([
    [
      "an older attempt PaC would still report",
      { runs: [older, newest], attempts: { newest: latestOf(newest) } },
      ["build-x-1: attempt 1 superseded by attempt 2 (build-x-2)"],
    ],
    [
      "every run, once a newer attempt was admitted that no run carries yet (its create may fail)",
      {
        runs: [older, newest],
        attempts: { newest: latestOf(newest), newer: { attempt: 3, name: "build-x-3", reportFrom: newest } },
      },
      [
        "build-x-1: attempt 1 superseded by attempt 3 (build-x-3)",
        "build-x-2: attempt 2 superseded by attempt 3 (build-x-3)",
      ],
    ],
    [
      "nothing when PaC reported the older one already",
      { runs: [attempt(1, { [pacState]: "completed" }), newest], attempts: { newest: latestOf(newest) } },
      [],
    ],
    [
      "nothing for a run PaC never took over",
      { runs: [attempt(1), newest], attempts: { newest: latestOf(newest) } },
      [],
    ],
    [
      "a run taken over before whose state PaC wrote back, even the latest",
      {
        runs: [
          attempt(2, {
            [pacState]: "started",
            "tekton-lineage.io/pac-report-taken-over": "cancelled: waited too long",
          }),
        ],
        attempts: { newest: latestOf(newest) },
      },
      ["build-x-2: cancelled: waited too long"],
    ],
  ])("%s", (_name, view, expected) => {
    expect(reportsToTakeOver(view).map(({ run, why }) => `${run.metadata.name}: ${why}`)).toEqual(expected);
  });
});
