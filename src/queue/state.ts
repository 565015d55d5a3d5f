import type { V1Lease } from "@kubernetes/client-node";
import { ownedLease } from "../core/owned-lease.ts";
import { leaseKeys, leaseLabels } from "../core/vocabulary.ts";
import { lineageIdOf } from "../lineage/lineage.ts";

/** A run holding one of the queue's slots. */
export interface Slot {
  ticket: number;
  /** namespace/name of the PipelineRun. */
  run: string;
  /** Fencing token: grows with every slot granted in this queue; the run is started with it. */
  fence: number;
  since: string;
  /** Admitted, its run not yet seen by the reconciler (a create on its way, or one that never comes). */
  unconfirmed?: true;
}

/** A run waiting for a slot, in ticket order. */
export interface WaitingEntry {
  ticket: number;
  run: string;
  enqueuedAt: string;
  /** Admitted, its run not yet seen by the reconciler (a create on its way, or one that never comes). */
  unconfirmed?: true;
}

/** Where a queue's limit comes from, so the reconciler can follow changes to it. */
export type QueueSource =
  | { kind: "repository"; namespace: string; name: string }
  | { kind: "rule"; name: string };

/** The whole queue of one key, as kept in its Lease: the slots, the line, and the counters. */
export interface QueueState {
  key: string;
  limit: number;
  source: QueueSource;
  /** The last ticket handed out. */
  lastTicket: number;
  /** The last fencing token handed out. */
  lastFence: number;
  slots: Slot[];
  waiting: WaitingEntry[];
}

export const queueLeaseKind = "queue";

/**
 * Most bytes of a queue's state that admission lets it grow to. The API server refuses an object whose
 * annotations pass 256 KiB together; a queue Lease that could not be written would make every admission to
 * that queue fall back. What is left is room for runs the reconciler puts back from the cluster.
 */
export const maxQueueStateBytes = 192 * 1024;

export function queueIdOf(key: string): string {
  return lineageIdOf(`queue/${key}`);
}

export function queueLeaseName(queueId: string): string {
  return `tl-queue-${queueId}`;
}

export function emptyQueue(key: string, limit: number, source: QueueSource): QueueState {
  return { key, limit, source, lastTicket: 0, lastFence: 0, slots: [], waiting: [] };
}

/** Reads the state from a queue Lease; undefined when the Lease is absent or not a queue. */
export function readQueueState(lease: V1Lease | undefined): QueueState | undefined {
  const text = lease?.metadata?.annotations?.[leaseKeys.queueState];
  if (!text) return undefined;
  const state = JSON.parse(text) as QueueState;
  if (typeof state.key !== "string" || !Array.isArray(state.slots) || !Array.isArray(state.waiting)) {
    throw new Error(`Lease ${lease?.metadata?.name} holds no valid queue state`);
  }
  return state;
}

/** The state a Lease holds, or undefined when it is missing or unreadable (to be rebuilt from its runs). */
export function readableQueueState(lease: V1Lease | undefined): QueueState | undefined {
  try {
    return readQueueState(lease);
  } catch {
    return undefined;
  }
}

/** The Lease that holds `state`, keeping everything else of `current`. */
export function queueLease(
  current: V1Lease | undefined,
  state: QueueState,
  instance: string,
  now: Date,
): V1Lease {
  return ownedLease(
    current,
    queueLeaseKind,
    {
      labels: { [leaseLabels.queueId]: queueIdOf(state.key) },
      annotations: { [leaseKeys.queueState]: JSON.stringify(state) },
    },
    instance,
    now,
  );
}

export function sameState(a: QueueState | undefined, b: QueueState | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
