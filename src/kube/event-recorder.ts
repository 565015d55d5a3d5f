import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CoreV1Api,
  type CoreV1Event,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Logger } from "../observability/logger.ts";
import { apiFailure } from "./api-errors.ts";
import { backoffDelay, transientStatus } from "./backoff.ts";
import { aggregationKey, type Written, WrittenEvents } from "./event-aggregation.ts";

export interface AuditEvent {
  namespace: string;
  /** The kind of object the Event is about: a PipelineRun unless said otherwise. */
  object?: { apiVersion: string; kind: string };
  /** The PipelineRun's name, or its generateName when no name was assigned yet. */
  objectName: string;
  objectUid?: string;
  reason: string;
  message: string;
  type: "Normal" | "Warning";
}

/** Where controllers and admission record Events (never waits). */
export interface EventSink {
  record(event: AuditEvent): void;
}

export interface EventRecorderOptions {
  kubeConfig: KubeConfig;
  instance: string;
  logger: Logger;
  registry: Registry;
  /** Sustained Events per second, and the burst allowed above it. */
  ratePerSecond?: number;
  burst?: number;
  /** Events waiting beyond this are dropped, oldest first, and counted. */
  capacity?: number;
  /** An Event the API server keeps failing to take (5xx, 429, no answer) is retried until this old. */
  maxAgeMs?: number;
}

export const reportingComponent = "tekton-lineage";
const maxMessageLength = 1024;
/** An Event waiting to be written, with the repeats recorded meanwhile. */
interface Queued {
  event: AuditEvent;
  key: string;
  at: number;
  repeats: number;
}

/**
 * Kubernetes Events sent from a bounded, rate-limited background queue: record() never waits, so
 * admission never waits on the API server for an audit trail. Overflow drops the oldest Event and
 * counts it; a failed post is retried a few times, then dropped and counted. Repeats aggregate as
 * client-go's EventCorrelator does: an Event equal to one still queued only raises its count, and one
 * equal to an Event written in the last ten minutes patches that Event's count and lastTimestamp
 * instead of making a new object.
 */
export class EventRecorder implements EventSink {
  private readonly queue: Queued[] = [];
  /** The queued entry of each key, so a repeat joins it. */
  private readonly queuedByKey = new Map<string, Queued>();
  /** Events written recently, for aggregation. */
  private readonly written = new WrittenEvents();
  private readonly api: CoreV1Api;
  private readonly options: Required<Omit<EventRecorderOptions, "kubeConfig" | "registry">>;
  private readonly sent: Counter<"reason">;
  private readonly dropped: Counter<"cause">;
  private readonly depth: Gauge;
  private tokens: number;
  private lastRefill = Date.now();
  private wake: (() => void) | undefined;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(options: EventRecorderOptions) {
    this.options = {
      instance: options.instance,
      logger: options.logger,
      ratePerSecond: options.ratePerSecond ?? 5,
      burst: options.burst ?? 25,
      capacity: options.capacity ?? 1000,
      maxAgeMs: options.maxAgeMs ?? 600_000,
    };
    this.api = options.kubeConfig.makeApiClient(CoreV1Api);
    this.tokens = this.options.burst;
    this.sent = new Counter({
      name: "tekton_lineage_events_sent_total",
      help: "Kubernetes Events written, by reason.",
      labelNames: ["reason"],
      registers: [options.registry],
    });
    this.dropped = new Counter({
      name: "tekton_lineage_events_dropped_total",
      help: "Events not written, by cause (overflow of the queue, refused by the API server, expired while it was unavailable).",
      labelNames: ["cause"],
      registers: [options.registry],
    });
    this.depth = new Gauge({
      name: "tekton_lineage_events_queued",
      help: "Events waiting to be written.",
      registers: [options.registry],
      collect: () => this.depth.set(this.queue.length),
    });
  }

  record(event: AuditEvent): void {
    const key = aggregationKey(event, maxMessageLength);
    const waiting = this.queuedByKey.get(key);
    if (waiting) {
      waiting.repeats += 1;
      return;
    }
    if (this.queue.length >= this.options.capacity) {
      const oldest = this.queue.shift();
      if (oldest) this.queuedByKey.delete(oldest.key);
      this.dropped.inc({ cause: "overflow" });
    }
    const entry = { event, key, at: Date.now(), repeats: 1 };
    this.queue.push(entry);
    this.queuedByKey.set(key, entry);
    this.wake?.();
  }

  get pending(): number {
    return this.queue.length;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after writing what is queued, or after `timeoutMs`. */
  async stop(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0 && Date.now() < deadline) await sleep(25);
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const entry = this.queue[0];
      if (!entry) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      await this.takeToken();
      this.queue.shift();
      this.queuedByKey.delete(entry.key);
      await this.post(entry);
    }
  }

  private async takeToken(): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(
        this.options.burst,
        this.tokens + ((now - this.lastRefill) / 1000) * this.options.ratePerSecond,
      );
      this.lastRefill = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await sleep(((1 - this.tokens) / this.options.ratePerSecond) * 1000);
    }
  }

  /**
   * Writes one Event, or counts it on the one written for the same key within the window; retries while
   * the API server is unavailable, up to the Event's maximum age.
   */
  private async post(entry: Queued): Promise<void> {
    const { event, key, at: recordedAt, repeats } = entry;
    for (let attempt = 1; ; attempt++) {
      try {
        const now = Date.now();
        const seen = this.written.recent(key, now);
        const written = seen
          ? await this.countAgain(event, seen, repeats, now)
          : { name: await this.create(event, repeats, now), count: repeats };
        this.written.remember(key, { ...written, lastAt: now });
        this.sent.inc({ reason: event.reason });
        return;
      } catch (error) {
        const failure = apiFailure(error);
        const retryable = transientStatus(failure.code);
        const expired = Date.now() - recordedAt > this.options.maxAgeMs;
        if (!retryable || expired || !this.running) {
          this.dropped.inc({ cause: retryable ? "expired" : "refused" });
          this.options.logger.warn(
            { reason: event.reason, namespace: event.namespace, code: failure.code },
            `audit Event not written: ${failure.message}`,
          );
          return;
        }
        await sleep(backoffDelay(attempt, { baseMs: 200, capMs: 10_000 }));
      }
    }
  }

  /** A new Event object; returns its name. */
  private async create(event: AuditEvent, count: number, at: number): Promise<string> {
    const body = this.toEvent(event, count, new Date(at));
    await this.api.createNamespacedEvent({ namespace: event.namespace, body });
    return body.metadata.name ?? "";
  }

  /**
   * Raises the count of an Event written before (a merge patch of count and lastTimestamp); one that is
   * gone meanwhile (deleted, expired by the API server's TTL) is written anew.
   */
  private async countAgain(
    event: AuditEvent,
    seen: Written,
    repeats: number,
    at: number,
  ): Promise<{ name: string; count: number }> {
    const count = seen.count + repeats;
    try {
      await this.api.patchNamespacedEvent(
        {
          name: seen.name,
          namespace: event.namespace,
          body: { count, lastTimestamp: new Date(at).toISOString() },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      return { name: seen.name, count };
    } catch (error) {
      if (apiFailure(error).code !== 404) throw error;
      return { name: await this.create(event, repeats, at), count: repeats };
    }
  }

  private toEvent(event: AuditEvent, count: number, now: Date): CoreV1Event & { metadata: { name: string } } {
    const base = event.objectName.replace(/[^a-z0-9.-]/g, "-").replace(/^[-.]+|[-.]+$/g, "") || "pipelinerun";
    const message =
      event.message.length > maxMessageLength
        ? `${event.message.slice(0, maxMessageLength - 1)}…`
        : event.message;
    return {
      metadata: {
        name: `${base.slice(0, 200)}.${now.getTime().toString(16)}${randomBytes(3).toString("hex")}`,
        namespace: event.namespace,
      },
      involvedObject: {
        apiVersion: event.object?.apiVersion ?? "tekton.dev/v1",
        kind: event.object?.kind ?? "PipelineRun",
        namespace: event.namespace,
        name: event.objectName,
        uid: event.objectUid,
      },
      reason: event.reason,
      message,
      type: event.type,
      source: { component: reportingComponent, host: this.options.instance },
      reportingComponent,
      reportingInstance: this.options.instance,
      firstTimestamp: now,
      lastTimestamp: now,
      count,
    };
  }
}
