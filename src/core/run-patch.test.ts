import jsonpatch from "fast-json-patch";
import { describe, expect, it } from "vitest";
import { annotationPath, type RunEdit, runPatch } from "./run-patch.ts";

const slot = "tekton-lineage.io/queue-slot";
const position = "tekton-lineage.io/queue-position";
const state = "pipelinesascode.tekton.dev/state";

function apply(object: unknown, edit: RunEdit): unknown {
  return jsonpatch.applyPatch(structuredClone(object), runPatch(edit) as jsonpatch.Operation[], true, false)
    .newDocument;
}

describe("annotationPath", () => {
  it.each([
    ["tekton-lineage.io/queue-slot", "/metadata/annotations/tekton-lineage.io~1queue-slot"],
    ["a~b/c", "/metadata/annotations/a~0b~1c"],
  ])("%s → %s", (key, path) => expect(annotationPath(key)).toBe(path));
});

describe("runPatch", () => {
  const pending = {
    metadata: { annotations: { [position]: "2", other: "x" } },
    spec: { status: "PipelineRunPending" },
  };
  const start: RunEdit = {
    expectStatus: "PipelineRunPending",
    status: null,
    annotations: { [slot]: "4", [position]: null },
  };

  it.each<[string, unknown, RunEdit, unknown]>([
    [
      "starts a Pending run whatever its position says",
      { ...pending, metadata: { annotations: { [position]: "1", other: "x" } } },
      start,
      { metadata: { annotations: { other: "x", [slot]: "4" } }, spec: {} },
    ],
    [
      "removes an annotation that another writer added meanwhile, and one that is absent",
      { metadata: { annotations: { other: "x" } }, spec: { status: "PipelineRunPending" } },
      start,
      { metadata: { annotations: { other: "x", [slot]: "4" } }, spec: {} },
    ],
    [
      "cancels a running run (no status to test)",
      { metadata: { annotations: {} }, spec: {} },
      { status: "Cancelled", annotations: { [position]: null } },
      { metadata: { annotations: {} }, spec: { status: "Cancelled" } },
    ],
    [
      "cancels and writes PaC's state completed, label and annotation, while PaC's state is as seen",
      {
        metadata: { annotations: { [state]: "started" }, labels: { [state]: "started" } },
        spec: {},
      },
      {
        status: "Cancelled",
        expectAnnotations: { [state]: "started" },
        annotations: { [state]: "completed" },
        labels: { [state]: "completed" },
      },
      {
        metadata: { annotations: { [state]: "completed" }, labels: { [state]: "completed" } },
        spec: { status: "Cancelled" },
      },
    ],
    [
      "removes a status it does not test",
      { metadata: { annotations: {} }, spec: {} },
      { status: null },
      { metadata: { annotations: {} }, spec: {} },
    ],
  ])("%s", (_name, before, edit, after) => expect(apply(before, edit)).toEqual(after));

  it("refuses to write PaC's state once PaC changed it (it reported the run meanwhile)", () => {
    const reported = { metadata: { annotations: { [state]: "completed" }, labels: {} }, spec: {} };
    expect(() =>
      apply(reported, { expectAnnotations: { [state]: "started" }, annotations: { [state]: "completed" } }),
    ).toThrow();
  });

  it("refuses to start a run that is no longer Pending", () => {
    const started = { metadata: { annotations: {} }, spec: {} };
    expect(() => apply(started, start)).toThrow();
    const cancelled = { metadata: { annotations: {} }, spec: { status: "Cancelled" } };
    expect(() => apply(cancelled, start)).toThrow();
  });
});
