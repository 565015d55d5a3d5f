import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importProblem, violations } from "./layers.ts";

describe("importProblem", () => {
  it.each([
    ["queue/plan.ts", "core/tekton.ts", undefined],
    ["queue/plan.ts", "queue/state.ts", undefined],
    ["admission/mutate.ts", "queue/admit.ts", undefined],
    ["queue/plan.test.ts", "admission/mutate.ts", undefined],
    ["testing/memory-leases.ts", "kube/leases.ts", undefined],
    ["kube/leases.ts", "core/vocabulary.ts", "points up: kube (layer 2) imports core (layer 4)"],
    ["gitlab/reporter.ts", "queue/run-view.ts", "points sideways: gitlab and queue share layer 6"],
    ["lineage/attempts.ts", "testing/memory-leases.ts", "src/testing/ serves tests only"],
    ["odd/x.ts", "core/tekton.ts", "odd/ is in no layer (test/lint/layers.ts)"],
  ])("%s → %s", (from, to, problem) => expect(importProblem(from, to)).toBe(problem));
});

describe("src/", () => {
  it("imports only down its layers", () => {
    expect(violations(fileURLToPath(new URL("../../src", import.meta.url)))).toEqual([]);
  });
});
