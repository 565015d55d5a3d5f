import { describe, expect, it } from "vitest";
import type { PipelineRun } from "../core/tekton.ts";
import { supersededRuns } from "./supersede.ts";

function run(attempt: number, options: { ask?: boolean; done?: boolean; status?: string } = {}): PipelineRun {
  return {
    metadata: {
      name: `build-${attempt}`,
      annotations: {
        "tekton-lineage.io/attempt": String(attempt),
        ...(options.ask ? { "pipelinesascode.tekton.dev/cancel-in-progress": "true" } : {}),
      },
    },
    spec: options.status ? { status: options.status } : {},
    status: options.done ? { conditions: [{ type: "Succeeded", status: "True" }] } : {},
  };
}

describe("supersededRuns", () => {
  it("cancels older unfinished attempts when the newest asks for it", () => {
    const result = supersededRuns([
      run(1, { done: true }),
      run(2),
      run(3, { status: "PipelineRunPending" }),
      run(4, { ask: true }),
    ]);
    expect(result.cancel.map((r) => r.metadata.name)).toEqual(["build-2", "build-3"]);
    expect(result.by?.metadata.name).toBe("build-4");
  });

  it("does nothing when the newest does not ask, or an older run asked", () => {
    expect(supersededRuns([run(1), run(2)]).cancel).toEqual([]);
    expect(supersededRuns([run(1, { ask: true }), run(2)]).cancel).toEqual([]);
  });

  it("keeps a run PaC's own queue counts: PaC frees its slot only when it reports the run", () => {
    const queued = run(1);
    queued.metadata.annotations = {
      ...queued.metadata.annotations,
      "pipelinesascode.tekton.dev/state": "queued",
      "pipelinesascode.tekton.dev/execution-order": "ns/build-1,ns/build-2",
    };
    const result = supersededRuns([queued, run(2), run(3, { ask: true })]);
    expect(result.cancel.map((r) => r.metadata.name)).toEqual(["build-2"]);
    expect(result.keep.map((r) => r.metadata.name)).toEqual(["build-1"]);
  });

  it("does not cancel twice", () => {
    expect(supersededRuns([run(1, { status: "Cancelled" }), run(2, { ask: true })]).cancel).toEqual([]);
  });
});
