import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importProblem, violations } from "./layers.ts";

describe("importProblem", () => {
  it.each([
    ["queue/reconcile/plan.ts", "core/tekton.ts", undefined],
    ["queue/reconcile/plan.ts", "queue/state.ts", undefined],
    ["queue/reconcile/plan.ts", "queue/reconcile/position-writer.ts", undefined],
    [
      "queue/state.ts",
      "queue/reconcile/plan.ts",
      "points up inside queue/: . (inner layer 0) imports reconcile (inner layer 1)",
    ],
    [
      "queue/admit/queue-admitter.ts",
      "queue/reconcile/plan.ts",
      "points sideways inside queue/: admit and reconcile share inner layer 1",
    ],
    ["gitlab/pac-failure/bare-status.ts", "gitlab/status/writes.ts", undefined],
    ["gitlab/status/writes.ts", "gitlab/client/api.ts", undefined],
    [
      "gitlab/status/lineage-reporter.ts",
      "gitlab/pac-failure/pac-failure-corrector.ts",
      "points up inside gitlab/: status (inner layer 2) imports pac-failure (inner layer 3)",
    ],
    [
      "gitlab/client/api.ts",
      "gitlab/status/writes.ts",
      "points up inside gitlab/: client (inner layer 0) imports status (inner layer 2)",
    ],
    ["gitlab/odd/x.ts", "gitlab/client/api.ts", "gitlab/odd/ is in no inner layer (test/lint/layers.ts)"],
    ["admission/mutate.ts", "queue/admit.ts", undefined],
    ["queue/plan.test.ts", "admission/mutate.ts", undefined],
    ["testing/memory-leases.ts", "kube/leases.ts", undefined],
    ["kube/leases.ts", "core/vocabulary.ts", "points up: kube (layer 2) imports core (layer 4)"],
    [
      "gitlab/status/lineage-reporter.ts",
      "queue/state.ts",
      "points sideways: gitlab and queue share layer 6",
    ],
    ["lineage/attempts.ts", "testing/memory-leases.ts", "src/testing/ serves tests only"],
    ["odd/x.ts", "core/tekton.ts", "odd/ is in no layer (test/lint/layers.ts)"],
  ])("%s → %s", (from, to, problem) => expect(importProblem(from, to)).toBe(problem));
});

describe("src/", () => {
  it("imports only down its layers", () => {
    expect(violations(fileURLToPath(new URL("../../src", import.meta.url)))).toEqual([]);
  });
});
