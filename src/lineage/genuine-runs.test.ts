import { Counter } from "prom-client";
import { describe, expect, it } from "vitest";
import type { PipelineRun } from "../core/tekton.ts";
import { signatureKey } from "../core/vocabulary.ts";
import { silentLogger } from "../observability/logger.ts";
import { testKey } from "../testing/keys.ts";
import { MemoryCache } from "../testing/memory-cache.ts";
import { RecordingRunWriter } from "../testing/recording-run-writer.ts";
import { pipelineRun, RecordingEvents } from "../testing/runs.ts";
import { signClaims } from "./claims.ts";
import { genuineRuns, lineageIndex, lineageIndexValue } from "./genuine-runs.ts";
import { SupersedeController } from "./supersede-controller.ts";

const key = testKey("g");
const keys = { current: () => key, all: () => [key] };
const lineage = "victimline";

/** A run as tekton-lineage admits it: claims signed for its name and namespace. */
function admitted(namespace: string, attempt: number, extra: Record<string, string> = {}): PipelineRun {
  const run = pipelineRun({
    namespace,
    name: `build-${lineage}-${attempt}`,
    labels: { "tekton-lineage.io/lineage-id": lineage, "tekton-lineage.io/attempt": String(attempt) },
    annotations: {
      "tekton-lineage.io/lineage-id": lineage,
      "tekton-lineage.io/attempt": String(attempt),
      "tekton-lineage.io/admitted-at": "2026-11-22T10:00:00Z",
      ...extra,
    },
    condition: { status: "Unknown", reason: "Running" },
  });
  const meta = {
    namespace,
    name: run.metadata.name ?? "",
    labels: run.metadata.labels ?? {},
    annotations: run.metadata.annotations ?? {},
  };
  run.metadata.annotations = { ...meta.annotations, [signatureKey]: signClaims(key, meta) };
  return run;
}

/** What a hostile tenant of namespace B creates with the opt-out label: the victim's lineage id, unsigned. */
function forged(namespace: string, attempt: number, signature?: string): PipelineRun {
  return pipelineRun({
    namespace,
    name: `build-${lineage}-${attempt}`,
    labels: {
      "tekton-lineage.io/webhook": "disabled",
      "tekton-lineage.io/lineage-id": lineage,
      "tekton-lineage.io/attempt": String(attempt),
    },
    annotations: {
      "tekton-lineage.io/lineage-id": lineage,
      "tekton-lineage.io/attempt": String(attempt),
      "pipelinesascode.tekton.dev/cancel-in-progress": "true",
      ...(signature ? { [signatureKey]: signature } : {}),
    },
    condition: { status: "Unknown", reason: "Running" },
  });
}

describe("genuineRuns", () => {
  it("shows only runs whose claims tekton-lineage signed for their name and namespace", () => {
    const real = admitted("team-a", 1);
    const copied = admitted("team-a", 2);
    const replayedElsewhere = forged("team-b", 999, copied.metadata.annotations?.[signatureKey]);
    const cache = genuineRuns(new MemoryCache([real, forged("team-b", 999), replayedElsewhere]), keys);
    expect(cache.list().map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).toEqual([
      `team-a/build-${lineage}-1`,
    ]);
    expect(cache.get("team-b", `build-${lineage}-999`)).toBeUndefined();
  });

  it("judges a run again when the key ring changes, and only then", () => {
    const later = testKey("h");
    const signedLater = admitted("team-a", 2);
    const meta = {
      namespace: "team-a",
      name: signedLater.metadata.name ?? "",
      labels: signedLater.metadata.labels ?? {},
      annotations: { ...signedLater.metadata.annotations },
    };
    delete meta.annotations[signatureKey];
    signedLater.metadata.annotations = { ...meta.annotations, [signatureKey]: signClaims(later, meta) };
    // A ring as SigningKeys keeps it: the same array until a key is learnt, then a new one.
    let ring = [key];
    const cache = genuineRuns(new MemoryCache([signedLater]), { current: () => key, all: () => ring });
    expect(cache.list("team-a")).toEqual([]);
    expect(cache.list("team-a")).toEqual([]);
    ring = [key, later];
    expect(cache.list("team-a").map((r) => r.metadata.name)).toEqual([signedLater.metadata.name]);
    ring = [key];
    expect(cache.list("team-a")).toEqual([]);
  });

  it("keys lineages by namespace: the same lineage id in two namespaces is two lineages", () => {
    expect(lineageIndexValue(admitted("team-a", 1))).toBe(`team-a/${lineage}`);
    expect(lineageIndexValue(forged("team-b", 1))).toBe(`team-b/${lineage}`);
  });

  it("lets no forged run in namespace B cancel the victim's runs in namespace A", async () => {
    const runs = new MemoryCache([admitted("team-a", 1), admitted("team-a", 2), forged("team-b", 999)]);
    const writer = new RecordingRunWriter();
    const controller = new SupersedeController({
      runs: genuineRuns(runs, keys),
      writer,
      events: new RecordingEvents(),
      cancellations: new Counter({ name: "c", help: "c", labelNames: ["reason"], registers: [] }),
      logger: silentLogger(),
    });
    for (const value of runs.indexValues(lineageIndex)) await controller.reconcile(value);
    await controller.reconcile(`team-a/${lineage}`);
    await controller.reconcile(`team-b/${lineage}`);
    expect(writer.actions).toEqual([]);
  });
});
