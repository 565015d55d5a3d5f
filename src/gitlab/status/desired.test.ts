import { describe, expect, it } from "vitest";
import type { Condition, PipelineRun } from "../../core/tekton.ts";
import { defaultPacConfig } from "../../pac/config.ts";
import { desiredStatus, type ReportedAttempt, supersededDescription, untilPacHasSpoken } from "./desired.ts";
import { runLinks } from "./links.ts";

const links = runLinks(
  {
    console: "https://console.example/ns/{{ namespace }}/pipelinerun/{{ pr }}",
    error: "https://errors.example/{namespace}/{lineage}",
  },
  () => defaultPacConfig,
);

function run(
  patch: { status?: string; conditions?: object[]; annotations?: Record<string, string> } = {},
): PipelineRun {
  return {
    metadata: { name: "build-abc-2", namespace: "team-a", annotations: patch.annotations ?? {} },
    spec: patch.status ? { status: patch.status } : {},
    status: { conditions: patch.conditions as Condition[] | undefined },
  };
}

const view = (r: PipelineRun | undefined, extra: Partial<ReportedAttempt> = {}): ReportedAttempt => ({
  attempt: 2,
  name: "build-abc-2",
  namespace: "team-a",
  lineageId: "abcdefghij",
  run: r,
  ...extra,
});

describe("desiredStatus", () => {
  it("reports a running attempt as running, linked to its run", () => {
    expect(
      desiredStatus(
        view(run({ conditions: [{ type: "Succeeded", status: "Unknown", reason: "Running" }] })),
        links,
      ),
    ).toEqual({
      state: "running",
      description: "attempt 2 running",
      targetUrl: "https://console.example/ns/team-a/pipelinerun/build-abc-2",
      attempt: 2,
      name: "build-abc-2",
      lineageId: "abcdefghij",
    });
  });

  it.each([
    [
      "before PaC reported its start (it posts in_progress itself)",
      { state: "started" },
      "pending",
      "attempt 2 started",
    ],
    ["while PaC has not patched it yet", undefined, "pending", "attempt 2 started"],
    [
      "once PaC reported its start",
      { state: "started", "scm-reporting-plr-started": "true" },
      "running",
      "attempt 2 running",
    ],
    [
      "once tekton-lineage took its report over",
      { state: "completed", "pac-report": "x" },
      "running",
      "attempt 2 running",
    ],
  ])("a running run PaC made, %s", (_name, pacKeys, state, description) => {
    const annotations = Object.fromEntries(
      Object.entries(pacKeys ?? {}).map(([k, v]) => [
        k === "pac-report" ? "tekton-lineage.io/pac-report-taken-over" : `pipelinesascode.tekton.dev/${k}`,
        v,
      ]),
    );
    const made = run({
      conditions: [{ type: "Succeeded", status: "Unknown", reason: "Running" }],
      annotations,
    });
    made.metadata.labels = { "pipelinesascode.tekton.dev/state": "started" };
    expect(desiredStatus(view(made), links)).toMatchObject({ state, description });
  });

  it("reports a queued attempt as pending in its queue, without a place that changes with every start", () => {
    const queued = run({
      status: "PipelineRunPending",
      annotations: {
        "tekton-lineage.io/pending-by-queue": "true",
        "tekton-lineage.io/queue": "pac/team-a/repo",
        // Written by releases before 0.2: not read.
        "tekton-lineage.io/queue-position": "3",
      },
    });
    expect(desiredStatus(view(queued), links)).toMatchObject({
      state: "pending",
      description: "attempt 2 queued in pac/team-a/repo",
    });
  });

  it("says what failed: reason, first failing task and message, within 255 characters", () => {
    const failed = run({
      conditions: [
        {
          type: "Succeeded",
          status: "False",
          reason: "Failed",
          message: `Tasks Completed: 3 (Failed: 1, Cancelled 0), Skipped: 1 ${"x".repeat(400)}`,
        },
      ],
    });
    const status = desiredStatus(view(failed, { failingTask: "compile" }), links);
    expect(status.state).toBe("failed");
    expect(
      status.description.startsWith("attempt 2 failed (Failed): task compile failed: Tasks Completed: 3"),
    ).toBe(true);
    expect([...status.description].length).toBe(255);
  });

  it("reports success and cancellation, with the queue's reason when it cancelled", () => {
    expect(
      desiredStatus(
        view(run({ conditions: [{ type: "Succeeded", status: "True", reason: "Succeeded" }] })),
        links,
      ).state,
    ).toBe("success");
    const cancelled = run({
      conditions: [{ type: "Succeeded", status: "False", reason: "Cancelled" }],
      annotations: {
        "tekton-lineage.io/queue-outcome": "cancelled",
        "tekton-lineage.io/queue-decision": "cancelled: waited longer than 60s in queue q",
      },
    });
    expect(desiredStatus(view(cancelled), links)).toMatchObject({
      state: "canceled",
      description: "attempt 2 cancelled: waited longer than 60s in queue q",
    });
  });

  it("reports an attempt never created as failed, linked to the error page (never the console root)", () => {
    expect(desiredStatus(view(undefined, { creationError: "denied by policy X" }), links)).toEqual({
      state: "failed",
      description: "attempt 2 could not be created: denied by policy X",
      targetUrl: "https://errors.example/team-a/abcdefghij",
      attempt: 2,
      name: "build-abc-2",
      lineageId: "abcdefghij",
    });
    expect(
      desiredStatus(
        view(undefined),
        runLinks({}, () => defaultPacConfig),
      ).targetUrl,
    ).toBe("");
  });

  it("describes a superseded attempt", () => {
    expect(supersededDescription(1, { attempt: 2, name: "build-abc-2" })).toBe(
      "attempt 1 superseded by attempt 2 (build-abc-2)",
    );
  });
});

describe("untilPacHasSpoken", () => {
  const created = "2026-11-22T10:00:00Z";
  const at = (ms: number) => Date.parse(created) + ms;
  const made = (
    annotations: Record<string, string>,
    labels: Record<string, string> = { "pipelinesascode.tekton.dev/state": "started" },
  ) => {
    const r = run({ conditions: [{ type: "Succeeded", status: "Unknown", reason: "Running" }], annotations });
    r.metadata.labels = labels;
    r.metadata.creationTimestamp = created;
    return r;
  };
  it.each<[string, PipelineRun, number, number | undefined]>([
    ["waits for PaC's first status of a run it just created", made({}), 1_000, 4_000],
    ["waits no more after a few seconds (PaC is not posting)", made({}), 6_000, undefined],
    [
      "writes once PaC reported the start",
      made({ "pipelinesascode.tekton.dev/scm-reporting-plr-started": "true" }),
      1_000,
      undefined,
    ],
    [
      "writes for a run PaC reported queued",
      made({ "pipelinesascode.tekton.dev/state": "queued" }),
      1_000,
      undefined,
    ],
    ["writes for a run PaC did not make", made({}, {}), 1_000, undefined],
  ])("%s", (_what, r, now, wait) => expect(untilPacHasSpoken(r, at(now))).toBe(wait));
});
