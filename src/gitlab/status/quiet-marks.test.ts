import type { V1Lease } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { MemoryLeases } from "../../testing/memory-leases.ts";
import { counterQuietMarks } from "./quiet-marks.ts";

const name = "tl-attempts-abcdefghij";
const counter = (namespace: string, mark?: string): V1Lease => ({
  metadata: {
    name,
    namespace: "tekton-lineage",
    labels: { "tekton-lineage.io/run-namespace": namespace },
    annotations: {
      "tekton-lineage.io/last-attempt": "2",
      ...(mark ? { "tekton-lineage.io/gitlab-quiet": mark } : {}),
    },
  },
  spec: { holderIdentity: "webhook-1" },
});

describe("counterQuietMarks", () => {
  it.each([
    ["marks the lineage's counter, keeping what it counts", counter("team-a"), 1, "new"],
    ["leaves a counter that already carries the mark", counter("team-a", "new"), 0, "new"],
    ["leaves a counter of another namespace's lineage of that id", counter("team-b"), 0, undefined],
    ["writes nothing where the counter is gone", undefined, 0, undefined],
  ])("%s", async (_name, stored, writes, mark) => {
    const store = new MemoryLeases();
    if (stored) await store.create(stored);
    const before = store.writes;
    await counterQuietMarks(store).write({ namespace: "team-a", lineageId: "abcdefghij" }, "new");
    expect(store.writes - before).toBe(writes);
    const after = store.leases.get(name);
    expect(after?.metadata?.annotations?.["tekton-lineage.io/gitlab-quiet"]).toBe(mark);
    if (after) expect(after.metadata?.annotations?.["tekton-lineage.io/last-attempt"]).toBe("2");
    if (after) expect(after.spec?.holderIdentity).toBe("webhook-1");
  });

  it("writes from the cached counter, and reads the Lease again when an admission changed it meanwhile", async () => {
    const store = new MemoryLeases();
    const cached = await store.create(counter("team-a"));
    const marks = counterQuietMarks(store);
    await marks.write({ namespace: "team-a", lineageId: "abcdefghij" }, "first", cached);
    expect(store.reads).toBe(0);
    // An admission wrote the counter since the cache saw it: the write conflicts, is read again, and lands.
    await marks.write({ namespace: "team-a", lineageId: "abcdefghij" }, "second", cached);
    expect(store.reads).toBe(1);
    expect(store.leases.get(name)?.metadata?.annotations?.["tekton-lineage.io/gitlab-quiet"]).toBe("second");
  });
});
