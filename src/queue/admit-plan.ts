import type { QueueState } from "./state.ts";

export interface QueueRequest {
  /** namespace/name of the PipelineRun being admitted. */
  run: string;
  now: Date;
}

export type QueueAdmission =
  | { outcome: "start"; ticket: number; fence: number; running: number; limit: number }
  | { outcome: "wait"; ticket: number; position: number; running: number; limit: number }
  | { outcome: "full"; waiting: number; limit: number };

/**
 * Admits a batch of runs to one queue, in order: each gets the next ticket; it starts at once (claiming a
 * slot with a new fencing token) only when a slot is free and nobody is waiting, otherwise it joins the
 * end of the line. A run already in the queue keeps its place (a repeated admission changes nothing).
 */
export function admitToQueue(
  state: QueueState,
  requests: readonly QueueRequest[],
  maxWaiting: number,
): { state: QueueState; results: QueueAdmission[] } {
  const next: QueueState = { ...state, slots: [...state.slots], waiting: [...state.waiting] };
  const results = requests.map((request): QueueAdmission => {
    const running = next.slots.length;
    const held = next.slots.find((s) => s.run === request.run);
    if (held) return { outcome: "start", ticket: held.ticket, fence: held.fence, running, limit: next.limit };
    const index = next.waiting.findIndex((w) => w.run === request.run);
    const entry = next.waiting[index];
    if (entry)
      return { outcome: "wait", ticket: entry.ticket, position: index + 1, running, limit: next.limit };
    if (next.waiting.length === 0 && running < next.limit) {
      next.lastTicket += 1;
      next.lastFence += 1;
      next.slots.push({
        ticket: next.lastTicket,
        run: request.run,
        fence: next.lastFence,
        since: request.now.toISOString(),
      });
      return {
        outcome: "start",
        ticket: next.lastTicket,
        fence: next.lastFence,
        running: running + 1,
        limit: next.limit,
      };
    }
    if (next.waiting.length >= maxWaiting)
      return { outcome: "full", waiting: next.waiting.length, limit: next.limit };
    next.lastTicket += 1;
    next.waiting.push({ ticket: next.lastTicket, run: request.run, enqueuedAt: request.now.toISOString() });
    return {
      outcome: "wait",
      ticket: next.lastTicket,
      position: next.waiting.length,
      running,
      limit: next.limit,
    };
  });
  return { state: next, results };
}
