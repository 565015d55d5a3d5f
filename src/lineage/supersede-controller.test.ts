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
      name: "leaves a run of PaC's own queue to PaC, and says so once",
      runs: [
        attempt(1, {
          "pipelinesascode.tekton.dev/state": "started",
          "pipelinesascode.tekton.dev/execution-order": "ns/build-abcdefghij-1",
        }),
        attempt(2, { "pipelinesascode.tekton.dev/cancel-in-progress": "true" }),
      ],
      cancelled: [],
      annotated: ["ns/build-abcdefghij-1"],
      events: ["SupersedeRefused build-abcdefghij-1"],
    },
    {
      name: "cancels nothing when the newest did not ask",
      runs: [attempt(1, { "pipelinesascode.tekton.dev/cancel-in-progress": "true" }), attempt(2)],
      cancelled: [],
      events: [],
    },
  ])("$name", async ({ runs, cancelled, events, annotated = [] }) => {
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
    const cancels = writer.actions.filter((a) => a.action === "cancel");
    expect(cancels.map((a) => a.run)).toEqual(cancelled);
    expect(cancels.every((a) => a.decision.includes("superseded by attempt"))).toBe(true);
    expect(writer.actions.filter((a) => a.action === "annotate").map((a) => a.run)).toEqual(annotated);
    expect(writer.actions).toHaveLength(cancelled.length + annotated.length);
    expect(recorded.summary).toEqual(events);
  });
});
