import type { DesiredStatus } from "./desired.ts";
import type { LatestAttempt } from "./latest.ts";
import type { LineageView } from "./lineage-view.ts";
import type { ReportTarget } from "./target.ts";

/** One pipeline of the commit whose create failed at least once. */
export interface BarePart {
  /** PaC's original-prname. */
  pipeline: string;
  /** What the lineage's own status should show: its latest attempt. */
  latest: DesiredStatus;
  /** The latest attempt is itself the create that failed. */
  latestMissing: boolean;
  /** When PaC recorded that failure (ms since the epoch), for a latest attempt that is missing. */
  missingAt?: number;
  /**
   * Creates of earlier attempts that PaC was told failed, newest first (no attempt: one tekton-lineage never
   * admitted); `created`: the run exists all the same (the answer was lost, or PaC could not report it).
   */
  failed: { attempt?: number; error: string; at: number; created?: boolean }[];
}

/** What a lineage whose create failed contributes to its commit's bare status. */
export interface BareEntry {
  part: BarePart;
  target: ReportTarget;
  namespace: string;
  repository: string;
}

/** A lineage's part of its commit's bare status: only when a create of it failed. */
export function bareEntryOf(
  view: LineageView,
  latest: LatestAttempt,
  desired: DesiredStatus,
  target: ReportTarget,
  repository: string,
): BareEntry | undefined {
  const failed: BarePart["failed"] = [
    ...(view.attempts.failedEarlier ?? [])
      .filter((f) => f.attempt < latest.attempt)
      .map((f) => ({ attempt: f.attempt, error: f.error, at: f.at })),
    ...view.unadmitted.map((f) => ({ error: f.error, at: f.at })),
    ...view.createdDespite.map((f) => ({ ...f, created: true })),
  ].sort((a, b) => b.at - a.at);
  const latestMissing = !latest.run;
  if (!latestMissing && failed.length === 0) return undefined;
  const { attemptLinks: _links, ...status } = desired;
  return {
    part: {
      pipeline: view.pipeline ?? "",
      latest: status,
      latestMissing,
      missingAt: latest.creationFailedAt,
      failed,
    },
    target,
    namespace: view.namespace,
    repository,
  };
}

/**
 * Where the lineage reporter tells each commit's bare status what its lineages contribute (the PaC failure
 * corrector): `entry` undefined withdraws the lineage's part.
 */
export interface BareStatusBoard {
  update(commit: string, lineage: string, entry: BareEntry | undefined): void;
}
