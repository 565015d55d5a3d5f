import type { V1Lease } from "@kubernetes/client-node";
import { readQueueState } from "./state.ts";

export interface QueueSummary {
  key: string;
  limit: number;
  source: string;
  running: { run: string; ticket: number; fence: number; since: string }[];
  waiting: { position: number; run: string; ticket: number; enqueuedAt: string }[];
}

/** Every queue held in the given Leases, by key, with who runs and who waits in order. */
export function summarizeQueues(leases: readonly V1Lease[]): QueueSummary[] {
  return leases
    .flatMap((lease) => {
      const state = readQueueState(lease);
      if (!state) return [];
      return [
        {
          key: state.key,
          limit: state.limit,
          source:
            state.source.kind === "repository"
              ? `Repository ${state.source.namespace}/${state.source.name}`
              : `rule ${state.source.name}`,
          running: state.slots.map((s) => ({ run: s.run, ticket: s.ticket, fence: s.fence, since: s.since })),
          waiting: state.waiting.map((w, i) => ({
            position: i + 1,
            run: w.run,
            ticket: w.ticket,
            enqueuedAt: w.enqueuedAt,
          })),
        },
      ];
    })
    .sort((a, b) => a.key.localeCompare(b.key));
}

/** A human-readable listing of the queues, for `tekton-lineage queue list`. */
export function formatQueues(queues: readonly QueueSummary[]): string {
  if (queues.length === 0) return "no queues\n";
  return queues
    .map((q) => {
      const lines = [
        `${q.key}  limit ${q.limit}  running ${q.running.length}  waiting ${q.waiting.length}  (${q.source})`,
      ];
      for (const r of q.running)
        lines.push(`  running  #${r.ticket}  ${r.run}  since ${r.since}  (fence ${r.fence})`);
      for (const w of q.waiting)
        lines.push(
          `  ${String(w.position).padStart(7)}  #${w.ticket}  ${w.run}  waiting since ${w.enqueuedAt}`,
        );
      return lines.join("\n");
    })
    .join("\n\n")
    .concat("\n");
}
