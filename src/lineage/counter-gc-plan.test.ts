import type { V1Lease } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { countersToCollect } from "./counter-gc-plan.ts";

const now = new Date("2026-11-22T12:00:00Z");
const hour = 3_600_000;

function counter(id: string, namespace: string, renewed: string): V1Lease {
  return {
    metadata: {
      name: `tl-attempts-${id}`,
      resourceVersion: "7",
      labels: { "tekton-lineage.io/lease-kind": "attempts", "tekton-lineage.io/lineage-id": id },
      annotations: { "tekton-lineage.io/namespace": namespace },
    },
    spec: { renewTime: renewed as unknown as Date },
  };
}

describe("countersToCollect", () => {
  const leases = [
    counter("aaaaaaaaaa", "team-a", "2026-11-22T09:00:00Z"), // old, no runs: collect
    counter("bbbbbbbbbb", "team-a", "2026-11-22T09:00:00Z"), // old, runs left: keep
    counter("cccccccccc", "team-a", "2026-11-22T11:30:00Z"), // recent: keep
    counter("dddddddddd", "team-b", "2026-11-22T09:00:00Z"), // namespace not watched: keep
  ];

  it("collects only old counters of lineages without runs in watched namespaces", () => {
    expect(countersToCollect(leases, new Set(["bbbbbbbbbb"]), ["team-a"], now, hour)).toEqual([
      { name: "tl-attempts-aaaaaaaaaa", resourceVersion: "7" },
    ]);
  });

  it("watches every namespace when none are listed", () => {
    expect(countersToCollect(leases, new Set(["bbbbbbbbbb"]), [], now, hour).map((c) => c.name)).toEqual([
      "tl-attempts-aaaaaaaaaa",
      "tl-attempts-dddddddddd",
    ]);
  });

  it("ignores Leases that are not attempt counters", () => {
    const other: V1Lease = { metadata: { name: "tekton-lineage-reconciler", resourceVersion: "1" } };
    expect(countersToCollect([other], new Set(), [], now, hour)).toEqual([]);
  });
});
