import type { AuditEvent } from "./event-recorder.ts";

/** Repeats of one Event within this window update it (count, lastTimestamp), as client-go's correlator does. */
const aggregationWindowMs = 600_000;
/** Events remembered for aggregation: the oldest is forgotten first (bounded, whatever tenants cause). */
const aggregationCapacity = 4096;

/** An Event written, to be counted again when it repeats. */
export interface Written {
  name: string;
  count: number;
  lastAt: number;
}

/** What makes two Events the same one: the object, the type, the reason and the words (as written). */
export function aggregationKey(event: AuditEvent, maxMessageLength: number): string {
  return JSON.stringify([
    event.namespace,
    event.object?.kind ?? "PipelineRun",
    event.objectName,
    event.objectUid ?? "",
    event.type,
    event.reason,
    event.message.slice(0, maxMessageLength),
  ]);
}

/** The Events written in the last ten minutes, by aggregation key, at most 4096 (least recent out). */
export class WrittenEvents {
  private readonly written = new Map<string, Written>();

  /** The Event written for this key within the window, if any. */
  recent(key: string, now: number): Written | undefined {
    const seen = this.written.get(key);
    return seen !== undefined && now - seen.lastAt < aggregationWindowMs ? seen : undefined;
  }

  remember(key: string, written: Written): void {
    this.written.delete(key);
    this.written.set(key, written);
    if (this.written.size > aggregationCapacity) {
      const oldest = this.written.keys().next().value;
      if (oldest !== undefined) this.written.delete(oldest);
    }
  }
}
