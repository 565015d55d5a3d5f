import { Counter } from "prom-client";
import { describe, expect, it } from "vitest";
import type { PipelineRun } from "../core/tekton.ts";
import { silentLogger } from "../observability/logger.ts";
import { MemoryCache } from "../testing/memory-cache.ts";
import { RecordingRunWriter } from "../testing/recording-run-writer.ts";
import { pipelineRun, RecordingEvents } from "../testing/runs.ts";
import { SupersedeController } from "./supersede-controller.ts";

const lineage = "abcdefghij";
const attempt = (n: number, extra: Record<string, string> = {}, running = true): PipelineRun =>
  pipelineRun({
    name: `build-${lineage}-${n}`,
    labels: { "tekton-lineage.io/lineage-id": lineage },
    annotations: { "tekton-lineage.io/attempt": String(n), ...extra },
    condition: running ? { status: "Unknown", reason: "Running" } : { status: "True", reason: "Succeeded" },
  });

describe("SupersedeController.reconcile", () => {
  it.each([
    {
      name: "cancels older unfinished attempts when the newest asks for cancel-in-progress",
      runs: [
        attempt(1),
        attempt(2, {}, false),
        attempt(3, { "pipelinesascode.tekton.dev/cancel-in-progress": "true" }),
      ],
      cancelled: ["ns/build-abcdefghij-1"],
      events: ["CancelledInQueue build-abcdefghij-1"],
    },
    {
      name: "takes tekton-lineage's own key for runs PaC did not make",
      runs: [attempt(1), attempt(2, { "tekton-lineage.io/cancel-in-progress": "true" })],
      cancelled: ["ns/build-abcdefghij-1"],
      events: ["CancelledInQueue build-abcdefghij-1"],
    },
    {
      name: "cancels nothing when the newest did not ask",
      runs: [attempt(1, { "pipelinesascode.tekton.dev/cancel-in-progress": "true" }), attempt(2)],
      cancelled: [],
      events: [],
    },
  ])("$name", async ({ runs, cancelled, events }) => {
    const writer = new RecordingRunWriter();
    const recorded = new RecordingEvents();
    const controller = new SupersedeController({
      runs: new MemoryCache(runs),
      writer,
      events: recorded,
      cancellations: new Counter({ name: "c", help: "c", labelNames: ["reason"], registers: [] }),
      logger: silentLogger(),
    });
    await controller.reconcile(`ns/${lineage}`);
    expect(writer.actions.map((a) => a.run)).toEqual(cancelled);
    expect(
      writer.actions.every((a) => a.action === "cancel" && a.decision.includes("superseded by attempt")),
    ).toBe(true);
    expect(recorded.summary).toEqual(events);
  });
});
