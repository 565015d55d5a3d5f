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

export interface WaitingRecorderOptions {
  /** The controller's name ("queues-waiting"). */
  name: string;
  leases: ObjectCache<CachedLease>;
  store: LeaseAccess;
  /** The cached runs of one queue, by namespace/name. */
  runsOf(queueId: string): Map<string, PipelineRun>;
  writer: RunWriter;
  events: EventSink;
  logger: Logger;
  /** Newly queued runs of one queue are recorded at most this often (coalesced). */
  delayMs: number;
}

/**
 * Records once that a run waits: the waiting decision (queue, ticket, limit) on the run and a Queued Event
 * with its place at that moment. A place in line changes with every start of its queue, so it lives in the
 * queue's Lease alone (`queue list`, `explain`) and is never rewritten on runs: a promotion costs the
 * Lease write and the started run's patch, however long the line. Its own controller of concurrency 1:
 * queues are coalesced (one timer, the earliest), and starts never wait behind these writes. Each write
 * applies only while the run still waits.
 */
export class WaitingRecorder {
  private readonly options: WaitingRecorderOptions;
  readonly controller: Controller;

  constructor(options: WaitingRecorderOptions) {
    this.options = options;
    this.controller = new Controller({
      name: options.name,
      reconcile: (id) => this.record(id),
      caches: [options.leases],
      initialKeys: () => [],
      concurrency: 1,
      logger: options.logger,
    });
  }

  /** This queue may have runs newly waiting: record them soon. */
  schedule(queueId: string): void {
    this.controller.enqueueAfter(queueId, this.options.delayMs);
  }

  private async record(queueId: string): Promise<undefined> {
    const name = queueLeaseName(queueId);
    const state = readableQueueState(
      this.options.leases.get(this.options.store.namespace, name) ?? (await this.options.store.get(name)),
    );
    if (!state) return undefined;
    const runs = this.options.runsOf(queueId);
    for (const [index, entry] of state.waiting.entries()) {
      const run = runs.get(entry.run);
      if (!run || !isPending(run)) continue;
      if (run.metadata.annotations?.[reconcilerKeys.queueOutcome] === "waiting") continue;
      const decision = `waiting in queue ${state.key} (ticket ${entry.ticket}, limit ${state.limit})`;
      const written = await this.options.writer.annotateWaiting(run, {
        ...decisionAnnotations("waiting", decision),
        // Written by releases before 0.2, which rewrote it on every start; a place is read from the Lease.
        [reconcilerKeys.queuePosition]: null,
      });
      if (written === "done") {
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
