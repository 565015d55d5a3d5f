import type { V1Lease } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { countersToCollect } from "./counter-gc-plan.ts";

const now = new Date("2026-11-22T12:00:00Z");
const hour = 3_600_000;

const grace = { graceMs: hour, singleAttemptGraceMs: 5 * 60_000 };

function counter(id: string, namespace: string, renewed: string, last = "3"): V1Lease {
  return {
    metadata: {
      name: `tl-attempts-${id}`,
      resourceVersion: "7",
      labels: { "tekton-lineage.io/lease-kind": "attempts", "tekton-lineage.io/lineage-id": id },
      annotations: { "tekton-lineage.io/namespace": namespace, "tekton-lineage.io/last-attempt": last },
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
    expect(countersToCollect(leases, new Set(["bbbbbbbbbb"]), ["team-a"], now, grace)).toEqual([
      { name: "tl-attempts-aaaaaaaaaa", resourceVersion: "7" },
    ]);
  });

  it("watches every namespace when none are listed", () => {
    expect(countersToCollect(leases, new Set(["bbbbbbbbbb"]), [], now, grace).map((c) => c.name)).toEqual([
      "tl-attempts-aaaaaaaaaa",
      "tl-attempts-dddddddddd",
    ]);
  });

  it.each([
    {
      name: "one attempt, past the short grace, no runs: collected",
      last: "1",
      renewed: "2026-11-22T11:50:00Z",
      runs: [],
      collected: true,
    },
    {
      name: "one attempt, within the short grace: kept",
      last: "1",
      renewed: "2026-11-22T11:58:00Z",
      runs: [],
      collected: false,
    },
    {
      name: "one attempt whose run is there: kept",
      last: "1",
      renewed: "2026-11-22T11:50:00Z",
      runs: ["eeeeeeeeee"],
      collected: false,
    },
    {
      name: "retests, past the short grace only: kept",
      last: "2",
      renewed: "2026-11-22T11:50:00Z",
      runs: [],
      collected: false,
    },
  ])(
    "collects counters that handed out a single attempt sooner — $name",
    ({ last, renewed, runs, collected }) => {
      const lease = counter("eeeeeeeeee", "team-a", renewed, last);
      expect(countersToCollect([lease], new Set(runs), [], now, grace).length).toBe(collected ? 1 : 0);
    },
  );

  it("ignores Leases that are not attempt counters", () => {
    const other: V1Lease = { metadata: { name: "tekton-lineage-reconciler", resourceVersion: "1" } };
    expect(countersToCollect([other], new Set(), [], now, grace)).toEqual([]);
  });
});
