import { describe, expect, it } from "vitest";
import type { PipelineRun } from "../../core/tekton.ts";
import { pipelineRun } from "../../testing/runs.ts";
import { statusOwner } from "./status-owner.ts";

const admitted = (name: string, at: string): PipelineRun =>
  pipelineRun({ name, annotations: { "tekton-lineage.io/admitted-at": at } });
const lineage = (key: string, runs: PipelineRun[], newerAt?: string) => ({
  key,
  runs,
  attempts: newerAt
    ? {
        newer: {
          attempt: 9,
          name: "x",
          admittedAt: Date.parse(newerAt),
          reportFrom: runs[0] ?? admitted("x", newerAt),
        },
      }
    : {},
});

describe("statusOwner", () => {
  const push = lineage("ns/push", [admitted("build-push-1", "2026-11-22T10:00:00Z")]);
  const mr = lineage("ns/mr", [admitted("build-mr-1", "2026-11-22T10:00:05Z")]);
  it.each<[string, ReturnType<typeof lineage>, ReturnType<typeof lineage>[], string]>([
    ["the lineage admitted last owns the shared status", push, [mr], "ns/mr"],
    ["the same answer seen from the other lineage", mr, [push], "ns/mr"],
    [
      "an attempt admitted but not created yet counts (its create may fail)",
      lineage("ns/push", [admitted("build-push-1", "2026-11-22T10:00:00Z")], "2026-11-22T10:00:09Z"),
      [mr],
      "ns/push",
    ],
    [
      "a tie goes to the greater key, from either side",
      lineage("ns/a", [admitted("a-1", "2026-11-22T10:00:00Z")]),
      [lineage("ns/b", [admitted("b-1", "2026-11-22T10:00:00Z")])],
      "ns/b",
    ],
    ["alone, it owns its status", push, [], "ns/push"],
  ])("%s", (_what, own, rivals, owner) => expect(statusOwner(own, rivals)).toBe(owner));
});
