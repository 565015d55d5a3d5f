import type { StatusApi } from "./api.ts";
import { GitLabError } from "./api.ts";
import type { DesiredStatus } from "./desired.ts";
import type { ReportTarget } from "./target.ts";
import { type ActualStatus, converged, planWrites, type StatusWrite } from "./writes.ts";

/** What GitLab showed last for a lineage's status (read or written), where, and when (own clock). */
export interface KnownStatus {
  key: string;
  status: ActualStatus;
  at: number;
}

export interface ConvergeInput {
  api: StatusApi;
  target: ReportTarget;
  desired: DesiredStatus;
  /** What tekton-lineage last saw or wrote, if anything. */
  known: KnownStatus | undefined;
  /** Told of every status read or written, as it happens (a later failure keeps what was learnt). */
  remember(known: KnownStatus): void;
  now: () => number;
  /** Trust `known` without reading GitLab for this long. */
  resyncMs: number;
  /** Asked before undoing another writer's change: a repair left, or until when none is. */
  mayRepair(): { allowed: true } | { allowed: false; until: number };
}

export type ConvergeResult =
  | { result: "converged"; writes: StatusWrite[]; repaired: boolean; pipelineId?: number }
  | { result: "contested"; until: number };

/** Where a status lives: host, project, commit, ref and name. */
export function statusKey(target: ReportTarget): string {
  return [target.host, target.project, target.sha, target.ref ?? "", target.context].join("|");
}

/**
 * Brings one status in GitLab to `desired`: GitLab is read unless what tekton-lineage knows is fresh,
 * only the difference is written (planWrites), and a change made by another writer is undone only
 * while the repair budget allows. A refused transition means GitLab shows something unexpected: it is
 * read and planned again, once.
 */
export async function converge(input: ConvergeInput): Promise<ConvergeResult> {
  const { api, target, desired } = input;
  const key = statusKey(target);
  const remembered = input.known?.key === key ? input.known : undefined;
  const fresh = remembered !== undefined && input.now() - remembered.at < input.resyncMs;
  if (fresh && converged(remembered.status, desired))
    return { result: "converged", writes: [], repaired: false, pipelineId: remembered.status.pipelineId };
  let known = remembered;
  const learn = (status: ActualStatus) => {
    known = { key, status, at: input.now() };
    input.remember(known);
  };
  const read = async () => {
    const status = await api.currentStatus(target.project, target.sha, {
      ref: target.ref,
      name: target.context,
    });
    if (status) learn(status);
    return status;
  };
  let actual = fresh ? remembered.status : await read();
  let writes = planWrites(actual, desired);
  if (writes.length === 0)
    return { result: "converged", writes, repaired: false, pipelineId: known?.status.pipelineId };
  // GitLab shows something else than what tekton-lineage last saw or wrote: another writer moved it.
  const drifted =
    remembered !== undefined &&
    actual !== undefined &&
    (actual.id !== remembered.status.id || actual.status !== remembered.status.status);
  if (drifted) {
    const repair = input.mayRepair();
    if (!repair.allowed) return { result: "contested", until: repair.until };
  }
  const written: StatusWrite[] = [];
  for (let round = 0; round < 2 && writes.length > 0; round++) {
    try {
      for (const write of writes) {
        actual = await api.postStatus(target.project, target.sha, {
          ...write,
          name: target.context,
          ref: target.ref,
          pipelineId: target.pipelineId ?? known?.status.pipelineId,
        });
        learn(actual);
        written.push(write);
      }
      writes = [];
    } catch (error) {
      if (!(error instanceof GitLabError && error.refusedTransition) || round > 0) throw error;
      writes = planWrites(await read(), desired);
    }
  }
  return { result: "converged", writes: written, repaired: drifted, pipelineId: known?.status.pipelineId };
}
