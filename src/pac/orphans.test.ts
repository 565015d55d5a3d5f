import { describe, expect, it } from "vitest";
import type { PipelineRun } from "../core/tekton.ts";
import { pipelineRun } from "../testing/runs.ts";
import { defaultPacConfig, readPacConfig } from "./config.ts";
import type { CreationFailure } from "./creation-failures.ts";
import { orphanDecision } from "./orphans.ts";

const admitted = Date.parse("2026-11-22T10:00:00Z");
const lost =
  "the server was unable to return a response in the time allotted, but may still be processing the request (post pipelineruns.tekton.dev)";
const failure = (at: number, kind: CreationFailure["kind"] = "create"): CreationFailure => ({
  kind,
  namespace: "team-a",
  repository: "repo",
  generateName: "build-",
  error: lost,
  at,
});
const run = (
  patch: { annotations?: Record<string, string>; labels?: Record<string, string>; status?: string } = {},
): PipelineRun =>
  pipelineRun({
    namespace: "team-a",
    name: "build-abc-1",
    labels: { "pipelinesascode.tekton.dev/state": "started", ...patch.labels },
    annotations: {
      "tekton-lineage.io/admitted-at": "2026-11-22T10:00:00Z",
      "pipelinesascode.tekton.dev/repository": "repo",
      ...patch.annotations,
    },
    status: patch.status,
  });
const dashboard = readPacConfig({ "tekton-dashboard-url": "https://dash.example" });

describe("orphanDecision", () => {
  it.each<{ what: string; run: PipelineRun; failures: CreationFailure[]; now?: number; expected: object }>([
    {
      what: "adopts a run PaC was told it could not create, for PaC's watcher",
      run: run(),
      failures: [failure(admitted + 5000)],
      expected: {
        kind: "adopt",
        annotations: {
          "pipelinesascode.tekton.dev/state": "started",
          "pipelinesascode.tekton.dev/log-url":
            "https://dash.example/#/namespaces/team-a/pipelineruns/build-abc-1",
        },
        labels: { "pipelinesascode.tekton.dev/state": "started" },
      },
    },
    {
      what: "adopts a run PaC created but could not report (its status failed), too",
      run: run(),
      failures: [failure(admitted + 5000, "status")],
      expected: { kind: "adopt" },
    },
    {
      what: "hands a run waiting in tekton-lineage's queue over as queued",
      run: run({ status: "PipelineRunPending" }),
      failures: [failure(admitted + 5000)],
      expected: { kind: "adopt", labels: { "pipelinesascode.tekton.dev/state": "queued" } },
    },
    {
      what: "waits out the grace",
      run: run(),
      failures: [],
      now: admitted + 10_000,
      expected: { kind: "wait", afterMs: 50_000 },
    },
    {
      what: "leaves a run PaC set up",
      run: run({ annotations: { "pipelinesascode.tekton.dev/state": "started" } }),
      failures: [failure(admitted)],
      expected: { kind: "none" },
    },
    {
      what: "leaves a run no failure of PaC answers",
      run: run(),
      failures: [failure(admitted + 600_000)],
      expected: { kind: "none" },
    },
  ])("$what", ({ run, failures, now, expected }) => {
    expect(
      orphanDecision(run, failures, "adopt", dashboard, now ?? admitted + 120_000, 60_000),
    ).toMatchObject(expected);
  });

  it("cancels instead, with the reason, when told to", () => {
    expect(
      orphanDecision(
        run(),
        [failure(admitted + 1000)],
        "cancel",
        defaultPacConfig,
        admitted + 120_000,
        60_000,
      ),
    ).toEqual({
      kind: "cancel",
      failure: failure(admitted + 1000),
      decision: `cancelled: Pipelines-as-Code was told its create failed (${lost}) and never took this run over`,
    });
  });

  it("recognises only runs that carry PaC's state label without its state annotation", () => {
    const plain = pipelineRun({
      namespace: "team-a",
      name: "x",
      annotations: { "tekton-lineage.io/admitted-at": "2026-11-22T10:00:00Z" },
    });
    expect(
      orphanDecision(plain, [failure(admitted)], "adopt", defaultPacConfig, admitted + 120_000, 60_000),
    ).toEqual({ kind: "none" });
  });
});
