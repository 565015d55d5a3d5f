import type { PipelineRun } from "../core/tekton.ts";
import type { AuditEvent, EventSink } from "../kube/event-recorder.ts";

/** Events recorded, for unit tests. */
export class RecordingEvents implements EventSink {
  readonly events: AuditEvent[] = [];
  record(event: AuditEvent): void {
    this.events.push(event);
  }
  /** "reason objectName" of every Event, in order. */
  get summary(): string[] {
    return this.events.map((e) => `${e.reason} ${e.objectName}`);
  }
}

export interface RunShape {
  namespace?: string;
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** spec.status */
  status?: string;
  /** The Succeeded condition: running (Unknown), succeeded (True) or failed (False), with a reason. */
  condition?: { status: "True" | "False" | "Unknown"; reason?: string; message?: string };
  deleting?: boolean;
}

let version = 0;

/** A trimmed PipelineRun as the cache holds it. */
export function pipelineRun(shape: RunShape): PipelineRun {
  version += 1;
  return {
    metadata: {
      name: shape.name,
      namespace: shape.namespace ?? "ns",
      uid: `uid-${shape.name}`,
      resourceVersion: String(version),
      labels: shape.labels ?? {},
      annotations: shape.annotations ?? {},
      ...(shape.deleting ? { deletionTimestamp: "2026-11-22T10:00:00Z" } : {}),
    },
    spec: shape.status === undefined ? {} : { status: shape.status },
    status: shape.condition ? { conditions: [{ type: "Succeeded", ...shape.condition }] } : {},
  };
}
