import { parseAttemptName } from "../../lineage/names.ts";
import type { QueuedRun } from "../queued-run.ts";
import type { QueueState, Slot, WaitingEntry } from "../state.ts";

export interface PlanInput {
  state: QueueState;
  /** The limit now (the Repository or rule may have changed since the state was written). */
  limit: number;
  /** Runs of this queue known to the reconciler, by namespace/name. */
  runs: ReadonlyMap<string, QueuedRun>;
  /** The reconciler's own clock (ms); TTLs are judged on it, never on times written by others. */
  now: number;
  wallNow: Date;
  /** When the reconciler first noticed each missing run (its own clock). */
  absentSince: ReadonlyMap<string, number>;
  /** Runs the reconciler has seen exist; one of them missing now was deleted. */
  seen: ReadonlySet<string>;
  /** Runs the cache lacks but a read from the API server found (the cache lags): never taken back. */
  present?: ReadonlySet<string>;
  /** How long a slot or place in line is kept for a run that does not exist (never created, or gone). */
  ttlMs: number;
  /** Longest time in the line before a run is cancelled; 0 for no limit. */
  maxWaitMs: number;
}

export type FreeReason = "done" | "deleted" | "reclaimed";
export type DropReason = "done" | "cancelled" | "deleted" | "never created";

export interface QueuePlan {
  state: QueueState;
  /** Slots granted now: un-pend these runs with their fencing token. */
  promote: Slot[];
  /** Slots held by runs still Pending (a start that did not finish): un-pend them again. */
  restart: Slot[];
  /** Waiting runs found running (started outside the queue): they now hold a slot. */
  adopted: Slot[];
  /** Runs of this queue missing from its state (the Lease lost them): put back in line or in a slot. */
  recovered: string[];
  freed: { slot: Slot; why: FreeReason }[];
  dropped: { entry: WaitingEntry; why: DropReason }[];
  /** Waiting runs to cancel (waited too long); already removed from the line. */
  cancel: { entry: WaitingEntry; why: string }[];
  absentSince: Map<string, number>;
}

/**
 * One reconcile of one queue, as a pure function: frees the slots of finished, deleted or long-missing
 * runs, drops cancelled or vanished runs from the line, cancels runs that waited too long, and grants
 * free slots in strict ticket order. A missing run at the head of the line (its create may still be on
 * its way) holds the line up to the TTL rather than being overtaken.
 */
export function planQueue(input: PlanInput): QueuePlan {
  const { runs, now, ttlMs } = input;
  const absentSince = new Map<string, number>();
  const missingFor = (run: string): number => {
    const since = input.absentSince.get(run) ?? now;
    absentSince.set(run, since);
    return now - since;
  };
  const plan: QueuePlan = {
    state: { ...input.state, limit: input.limit, slots: [], waiting: [] },
    promote: [],
    restart: [],
    adopted: [],
    recovered: [],
    freed: [],
    dropped: [],
    cancel: [],
    absentSince,
  };
  const state = plan.state;
  const { slots, waiting } = withOrphans(input, plan);
  const superseded = supersededBeforeCreation(input.runs);
  /** What became of a run the cache does not hold: deleted (seen before), abandoned, or not yet known. */
  const missing = (run: string): "deleted" | "abandoned" | "wait" => {
    if (input.seen.has(run)) return "deleted";
    if (input.present?.has(run)) return "wait";
    if (superseded(run) || missingFor(run) >= ttlMs) return "abandoned";
    return "wait";
  };

  for (const slot of slots) {
    const view = runs.get(slot.run);
    if (!view) {
      const fate = missing(slot.run);
      if (fate === "deleted") plan.freed.push({ slot, why: "deleted" });
      else if (fate === "abandoned") plan.freed.push({ slot, why: "reclaimed" });
      else state.slots.push(slot);
    } else if (view.done) plan.freed.push({ slot, why: "done" });
    else if (view.deleting) plan.freed.push({ slot, why: "deleted" });
    else {
      state.slots.push(confirmed(slot));
      if (view.pending && view.pendingByQueue && !view.cancelled) plan.restart.push(slot);
    }
  }

  /** Gives a waiting run a slot with the next fencing token. */
  const takeSlot = (entry: WaitingEntry): Slot => {
    const slot = {
      ticket: entry.ticket,
      run: entry.run,
      fence: ++state.lastFence,
      since: input.wallNow.toISOString(),
    };
    state.slots.push(slot);
    return slot;
  };

  for (const entry of waiting) {
    const view = runs.get(entry.run);
    if (!view) {
      const fate = missing(entry.run);
      if (fate === "deleted") plan.dropped.push({ entry, why: "deleted" });
      else if (fate === "abandoned") plan.dropped.push({ entry, why: "never created" });
      else state.waiting.push(entry); // its create may still be on its way: it keeps its place
      continue;
    }
    if (view.done) plan.dropped.push({ entry, why: "done" });
    else if (view.cancelled) plan.dropped.push({ entry, why: "cancelled" });
    else if (view.deleting) plan.dropped.push({ entry, why: "deleted" });
    else if (!view.pending) {
      // Started by someone else: it runs whatever we think, so it counts against the limit.
      plan.adopted.push(takeSlot(entry));
    } else if (
      input.maxWaitMs > 0 &&
      input.wallNow.getTime() - Date.parse(entry.enqueuedAt) > input.maxWaitMs
    ) {
      plan.cancel.push({
        entry,
        why: `waited longer than ${Math.round(input.maxWaitMs / 1000)}s in queue ${state.key}`,
      });
    } else if (state.waiting.length === 0 && state.slots.length < state.limit) {
      plan.promote.push(takeSlot(entry));
    } else {
      state.waiting.push(confirmed(entry));
    }
  }
  return plan;
}

/** The entry once its run has been seen: no longer the first to make room in a full line. */
function confirmed<T extends Slot | WaitingEntry>(entry: T): T {
  if (!entry.unconfirmed) return entry;
  const { unconfirmed: _, ...rest } = entry;
  return rest as T;
}

/**
 * The state's slots and line, plus the runs of this queue that the state does not mention (the runs are
 * the truth; the Lease is their index): a run still Pending by the queue goes back in line by its
 * ticket, a running one keeps running and holds a slot.
 */
function withOrphans(input: PlanInput, plan: QueuePlan): { slots: Slot[]; waiting: WaitingEntry[] } {
  const known = new Set([...input.state.slots.map((s) => s.run), ...input.state.waiting.map((w) => w.run)]);
  const slots = [...input.state.slots];
  const waiting = [...input.state.waiting];
  for (const view of input.runs.values()) {
    if (known.has(view.run) || view.ticket === undefined || view.done || view.deleting || view.cancelled)
      continue;
    if (view.pending) {
      if (!view.pendingByQueue) continue;
      waiting.push({
        ticket: view.ticket,
        run: view.run,
        enqueuedAt: view.enqueuedAt ?? input.wallNow.toISOString(),
      });
    } else {
      const fence = view.fence ?? ++plan.state.lastFence;
      slots.push({ ticket: view.ticket, run: view.run, fence, since: input.wallNow.toISOString() });
    }
    plan.recovered.push(view.run);
  }
  waiting.sort((a, b) => a.ticket - b.ticket);
  plan.state.lastTicket = Math.max(
    plan.state.lastTicket,
    ...waiting.map((w) => w.ticket),
    ...slots.map((s) => s.ticket),
  );
  plan.state.lastFence = Math.max(plan.state.lastFence, ...slots.map((s) => s.fence));
  return { slots, waiting };
}

/**
 * A missing run whose lineage already has a newer attempt in this queue will never be created (its
 * create failed, and the lineage moved on): its slot or place need not wait for the TTL. Names say
 * their lineage and attempt (`<base>-<lineage id>-<attempt>`).
 */
function supersededBeforeCreation(runs: ReadonlyMap<string, QueuedRun>): (run: string) => boolean {
  const newest = new Map<string, number>();
  for (const key of runs.keys()) {
    const parsed = parseAttemptName(key.split("/")[1] ?? "");
    if (parsed) newest.set(parsed.lineageId, Math.max(newest.get(parsed.lineageId) ?? 0, parsed.attempt));
  }
  return (run) => {
    const parsed = parseAttemptName(run.split("/")[1] ?? "");
    return parsed !== undefined && (newest.get(parsed.lineageId) ?? 0) > parsed.attempt;
  };
}
