import { describe, expect, it } from "vitest";
import { isDone, trimPipelineRun } from "./tekton.ts";

const raw = {
  apiVersion: "tekton.dev/v1",
  kind: "PipelineRun",
  metadata: {
    name: "build-abc",
    namespace: "team-a",
    uid: "u-1",
    resourceVersion: "42",
    labels: {
      "pipelinesascode.tekton.dev/sha": "abc1234",
      "pipelinesascode.tekton.dev/repository": "repo",
      "tekton-lineage.io/attempt": "2",
      "tekton.dev/pipeline": "build",
      "app.kubernetes.io/managed-by": "pipelinesascode.tekton.dev",
    },
    annotations: {
      "kubectl.kubernetes.io/last-applied-configuration": "x".repeat(10_000),
      "tekton-lineage.io/attempt": "2",
      "pipelinesascode.tekton.dev/original-prname": "build",
      "pipelinesascode.tekton.dev/repository": "repo",
      "pipelinesascode.tekton.dev/on-cel-expression": "event == 'pull_request'",
    },
    managedFields: [{ manager: "kubectl" }],
  },
  spec: { status: "PipelineRunPending", pipelineSpec: { tasks: new Array(50).fill({ name: "t" }) } },
  status: {
    conditions: [{ type: "Succeeded", status: "False", reason: "Failed", message: "boom" }],
    pipelineSpec: { tasks: [] },
    childReferences: [
      { name: "build-abc-compile", pipelineTaskName: "compile", kind: "TaskRun", apiVersion: "v1" },
    ],
  },
};

describe("trimPipelineRun", () => {
  it("keeps what the reconcilers read and drops the rest", () => {
    const run = trimPipelineRun(raw);
    expect(run.metadata.annotations).toEqual({
      "tekton-lineage.io/attempt": "2",
      "pipelinesascode.tekton.dev/original-prname": "build",
      "pipelinesascode.tekton.dev/repository": "repo",
    });
    // A PaC label is kept only where its annotation is missing; foreign labels go.
    expect(run.metadata.labels).toEqual({
      "pipelinesascode.tekton.dev/sha": "abc1234",
      "tekton-lineage.io/attempt": "2",
    });
    expect(run.spec).toEqual({ status: "PipelineRunPending" });
    expect(run.status).toEqual({
      conditions: [{ type: "Succeeded", status: "False", reason: "Failed", message: "boom" }],
    });
    expect(JSON.stringify(run).length).toBeLessThan(600);
    expect(isDone(run)).toBe(true);
  });

  it("keeps no value PaC or tekton-lineage could not have written: a run's author cannot grow the cache", () => {
    const run = trimPipelineRun({
      metadata: {
        name: "big",
        annotations: {
          "pipelinesascode.tekton.dev/log-url": `https://console.example/${"x".repeat(200 * 1024)}`,
          "pipelinesascode.tekton.dev/sha": "not hex",
          "pipelinesascode.tekton.dev/state": "s".repeat(100),
          "tekton-lineage.io/queue-decision": "d".repeat(200 * 1024),
          "pipelinesascode.tekton.dev/repository": "repo",
        },
      },
    });
    expect(run.metadata.annotations).toEqual({ "pipelinesascode.tekton.dev/repository": "repo" });
  });

  it("treats a run without a Succeeded condition, or an Unknown one, as not done", () => {
    expect(isDone(trimPipelineRun({ metadata: { name: "a" } }))).toBe(false);
    const running = {
      metadata: { name: "a" },
      status: { conditions: [{ type: "Succeeded", status: "Unknown" }] },
    };
    expect(isDone(trimPipelineRun(running))).toBe(false);
  });
});
