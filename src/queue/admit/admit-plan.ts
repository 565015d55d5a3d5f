import type { QueueState, WaitingEntry } from "../state.ts";

export interface QueueRequest {
  /** namespace/name of the PipelineRun being admitted. */
  run: string;
  now: Date;
}

export type QueueAdmission =
  | { outcome: "start"; ticket: number; fence: number; running: number; limit: number }
  | {
      outcome: "wait";
      ticket: number;
      position: number;
      running: number;
      limit: number;
      /** An entry whose run was never seen, dropped to make room (it is put back by ticket if its run appears). */
      displaced?: string;
    }
  | { outcome: "full"; waiting: number; limit: number };

/** How large one queue may grow. */
export interface QueueBounds {
  /** Most runs in line. */
  maxWaiting: number;
  /** Most bytes of the queue's state as written in its Lease (an annotation; the API server allows 256 KiB for all of them). */
  maxStateBytes: number;
}

/**
 * Admits a batch of runs to one queue, in order: each gets the next ticket; it starts at once (claiming a
 * slot with a new fencing token) only when a slot is free and nobody is waiting, otherwise it joins the
 * end of the line. A run already in the queue keeps its place (a repeated admission changes nothing).
 *
 * Every new entry is `unconfirmed` until the reconciler sees its run. When the line is at its bounds
 * (length, or bytes of the Lease), the oldest unconfirmed entry in line makes room: a review that did not
 * come from the API server names a run that never appears, so a flood of them can neither hold the line
 * full nor make real creates get 429; a real run displaced so is put back by its ticket when it appears.
 */
export function admitToQueue(
  state: QueueState,
  requests: readonly QueueRequest[],
  bounds: QueueBounds,
): { state: QueueState; results: QueueAdmission[] } {
  const next: QueueState = { ...state, slots: [...state.slots], waiting: [...state.waiting] };
  let bytes = JSON.stringify(next).length;
  // An entry costs its JSON and a comma.
  const size = (entry: object) => JSON.stringify(entry).length + 1;
  const overBounds = (adding: number) =>
    next.waiting.length >= bounds.maxWaiting || bytes + adding > bounds.maxStateBytes;
  const results = requests.map((request): QueueAdmission => {
    const running = next.slots.length;
    const held = next.slots.find((s) => s.run === request.run);
    if (held) return { outcome: "start", ticket: held.ticket, fence: held.fence, running, limit: next.limit };
    const index = next.waiting.findIndex((w) => w.run === request.run);
    const entry = next.waiting[index];
    if (entry)
      return { outcome: "wait", ticket: entry.ticket, position: index + 1, running, limit: next.limit };
    if (next.waiting.length === 0 && running < next.limit) {
      const slot = {
        ticket: next.lastTicket + 1,
        run: request.run,
        fence: next.lastFence + 1,
        since: request.now.toISOString(),
        unconfirmed: true as const,
      };
      if (bytes + size(slot) > bounds.maxStateBytes)
        return { outcome: "full", waiting: next.waiting.length, limit: next.limit };
      next.lastTicket = slot.ticket;
      next.lastFence = slot.fence;
      next.slots.push(slot);
      bytes += size(slot);
      return {
        outcome: "start",
        ticket: slot.ticket,
        fence: slot.fence,
        running: running + 1,
        limit: next.limit,
      };
    }
    const waiting: WaitingEntry = {
      ticket: next.lastTicket + 1,
      run: request.run,
      enqueuedAt: request.now.toISOString(),
      unconfirmed: true,
    };
    let displaced: string | undefined;
    if (overBounds(size(waiting))) {
      const oldest = next.waiting.findIndex((w) => w.unconfirmed);
      const gone = next.waiting[oldest];
      if (!gone) return { outcome: "full", waiting: next.waiting.length, limit: next.limit };
      next.waiting.splice(oldest, 1);
      bytes -= size(gone);
      displaced = gone.run;
      if (overBounds(size(waiting)))
        return { outcome: "full", waiting: next.waiting.length, limit: next.limit };
    }
    next.lastTicket = waiting.ticket;
    next.waiting.push(waiting);
    bytes += size(waiting);
    return {
      outcome: "wait",
      ticket: waiting.ticket,
      position: next.waiting.length,
      running,
      limit: next.limit,
      ...(displaced ? { displaced } : {}),
    };
  });
  return { state: next, results };
}
