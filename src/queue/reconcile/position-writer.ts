import { Controller } from "../../core/controller.ts";
import { decisionAnnotations, type RunWriter } from "../../core/run-actions.ts";
import { recordRunEvent } from "../../core/run-events.ts";
import type { PipelineRun } from "../../core/tekton.ts";
import { isPending } from "../../core/tekton.ts";
import { reconcilerKeys } from "../../core/vocabulary.ts";
import type { EventSink } from "../../kube/event-recorder.ts";
import type { ObjectCache } from "../../kube/informer.ts";
import type { CachedLease, LeaseAccess } from "../../kube/leases.ts";
import type { Logger } from "../../observability/logger.ts";
import { queueLeaseName, readableQueueState } from "../state.ts";

/** Places beyond this are written as "<n>+": exact positions far back in a long line cost a write per start. */
export const exactPositions = 20;

export function positionText(position: number): string {
  return position <= exactPositions ? String(position) : `${exactPositions}+`;
}

export interface PositionWriterOptions {
  leases: ObjectCache<CachedLease>;
  store: LeaseAccess;
  /** The cached runs of one queue, by namespace/name. */
  runsOf(queueId: string): Map<string, PipelineRun>;
  writer: RunWriter;
  events: EventSink;
  logger: Logger;
  /** Positions of one queue are written at most this often (they change with every start). */
  delayMs: number;
}

/**
 * Writes the place in line and the decision of every waiting run, only where they changed, and a Queued
 * Event the first time. Its own controller of concurrency 1: positions are coalesced per queue (one timer,
 * the earliest), written one request at a time for the whole process, and starts never wait behind them.
 * Each write applies only while the run still waits.
 */
export class PositionWriter {
  private readonly options: PositionWriterOptions;
  readonly controller: Controller;

  constructor(options: PositionWriterOptions) {
    this.options = options;
    this.controller = new Controller({
      name: "queue-positions",
      reconcile: (id) => this.write(id),
      caches: [options.leases],
      initialKeys: () => [],
      concurrency: 1,
      logger: options.logger,
    });
  }

  /** The positions of this queue changed (or may have): write them soon. */
  schedule(queueId: string): void {
    this.controller.enqueueAfter(queueId, this.options.delayMs);
  }

  private async write(queueId: string): Promise<undefined> {
    const name = queueLeaseName(queueId);
    const state = readableQueueState(
      this.options.leases.get(this.options.store.namespace, name) ?? (await this.options.store.get(name)),
    );
    if (!state) return undefined;
    const runs = this.options.runsOf(queueId);
    for (const [index, entry] of state.waiting.entries()) {
      const run = runs.get(entry.run);
      if (!run || !isPending(run)) continue;
      const first = run.metadata.annotations?.[reconcilerKeys.queuePosition] === undefined;
      const decision = `waiting in queue ${state.key} (ticket ${entry.ticket}, limit ${state.limit})`;
      const written = await this.options.writer.annotateWaiting(run, {
        [reconcilerKeys.queuePosition]: positionText(index + 1),
        ...decisionAnnotations("waiting", decision),
      });
      if (first && written === "done") {
        recordRunEvent(
          this.options.events,
          run,
          "Queued",
          `${decision}: ${index + 1} in line, ${state.slots.length}/${state.limit} running`,
        );
      }
    }
    return undefined;
  }
}
