import { admissionKeys } from "../../core/vocabulary.ts";
import type { LineageView } from "./lineage-view.ts";

/**
 * PaC names a status `<application> / <pipeline>` for push, merge-request and comment events alike, so
 * lineages of one pipeline and one commit (a push and a merge request of the same commit) share one
 * status. One of them owns it, the same answer for every replica and every reconcile: the lineage whose
 * newest attempt was admitted last (a tie goes to the greater lineage key). The others never write it.
 */
export function statusOwner(
  own: Pick<LineageView, "key" | "runs" | "attempts">,
  rivals: readonly Pick<LineageView, "key" | "runs" | "attempts">[],
): string {
  let owner = { key: own.key, at: lastAdmission(own) };
  for (const rival of rivals) {
    const at = lastAdmission(rival);
    if (at > owner.at || (at === owner.at && rival.key > owner.key)) owner = { key: rival.key, at };
  }
  return owner.key;
}

/** When the lineage's newest attempt was admitted (ms), from its runs and its counter. */
export function lastAdmission(view: Pick<LineageView, "runs" | "attempts">): number {
  const times = view.runs.map((r) => Date.parse(r.metadata.annotations?.[admissionKeys.admittedAt] ?? ""));
  if (view.attempts.newer?.admittedAt !== undefined) times.push(view.attempts.newer.admittedAt);
  const known = times.filter(Number.isFinite);
  return known.length > 0 ? Math.max(...known) : Number.NEGATIVE_INFINITY;
}
