import type { EventSink } from "../kube/event-recorder.ts";
import type { PipelineRun } from "./tekton.ts";

/** An Event on a run (its namespace, name and uid), as every controller records what it did to one. */
export function recordRunEvent(
  events: EventSink,
  run: PipelineRun,
  reason: string,
  message: string,
  type: "Normal" | "Warning" = "Normal",
): void {
  events.record({
    namespace: run.metadata.namespace ?? "",
    objectName: run.metadata.name ?? "",
    objectUid: run.metadata.uid,
    reason,
    message,
    type,
  });
}
