import type { ActualStatus, StatusWrite } from "../client/api.ts";
import { GitLabError, newestStatus, type StatusApi } from "../client/api.ts";
import type { DesiredStatus } from "./desired.ts";
import { attemptShown, converged, planWrites, writesAfterRefusal } from "./writes.ts";

/** Where a status lives in GitLab. */
export interface StatusAddress {
  host: string;
  project: string;
  sha: string;
  /** The status name (GitLab's `name`, PaC's context). */
  name: string;
  /** The pipeline the status joins, when known (PaC's, or the one GitLab answered with before). */
  pipelineId?: number;
}

/** What GitLab showed last for a status (read or written), where, and when (own clock). */
export interface KnownStatus {
  key: string;
  status: ActualStatus;
  at: number;
}

/** Why another writer's change is undone: it contests ours, or it reports an older attempt. */
export type RepairKind = "contest" | "older-attempt";

export interface ConvergeInput {
  api: StatusApi;
  address: StatusAddress;
  desired: DesiredStatus;
  /** What tekton-lineage last saw or wrote, if anything. */
  known: KnownStatus | undefined;
  /** Told of every status read or written, as it happens (a later failure keeps what was learnt). */
  remember(known: KnownStatus): void;
  now: () => number;
  /** Trust `known` without reading GitLab for this long. */
  resyncMs: number;
  /** Asked before undoing another writer's change: a repair left, or until when none is. */
  mayRepair(kind: RepairKind): { allowed: true } | { allowed: false; until: number };
}

export type ConvergeResult =
  | { result: "converged"; writes: StatusWrite[]; repaired: RepairKind | undefined; pipelineId?: number }
  | { result: "contested"; until: number };

/** Where a status lives: host, project, commit and name (the pipeline is learnt, not part of it). */
export function statusKey(address: StatusAddress): string {
  return [address.host, address.project, address.sha, address.name].join("|");
}

/**
 * Brings one status in GitLab to `desired`: GitLab is read unless what tekton-lineage knows is fresh,
 * only the difference is written (planWrites), and a change made by another writer is undone only
 * while the repair budget allows. Statuses go to one pipeline — the one known, else the one of the status
 * read — and carry no ref, as PaC's. A refused transition means GitLab shows something unexpected: it is
 * read and planned again, once.
 */
export async function converge(input: ConvergeInput): Promise<ConvergeResult> {
  const { api, address, desired } = input;
  const key = statusKey(address);
  const remembered = input.known?.key === key ? input.known : undefined;
  const fresh = remembered !== undefined && input.now() - remembered.at < input.resyncMs;
  const pipelineId = () => address.pipelineId ?? known?.status.pipelineId;
  let known = remembered;
  if (fresh && converged(remembered.status, desired))
    return { result: "converged", writes: [], repaired: undefined, pipelineId: pipelineId() };
  const learn = (status: ActualStatus) => {
    known = { key, status, at: input.now() };
    input.remember(known);
  };
  const read = async () => {
    const statuses = await api.statuses(address.project, address.sha, {
      name: address.name,
      pipelineId: pipelineId(),
    });
    const status = newestStatus(statuses);
    if (status) learn(status);
    return status;
  };
  let actual = fresh ? remembered.status : await read();
  let writes = planWrites(actual, desired);
  if (writes.length === 0)
    return { result: "converged", writes, repaired: undefined, pipelineId: pipelineId() };
  // GitLab shows something else than what tekton-lineage last saw or wrote: another writer moved it.
  const drifted =
    remembered !== undefined &&
    actual !== undefined &&
    (actual.id !== remembered.status.id || actual.status !== remembered.status.status);
  let repaired: RepairKind | undefined;
  if (drifted && actual) {
    const shown = attemptShown(actual, desired);
    repaired = shown !== undefined && shown < desired.attempt ? "older-attempt" : "contest";
    const repair = input.mayRepair(repaired);
    if (!repair.allowed) return { result: "contested", until: repair.until };
  }
  const written: StatusWrite[] = [];
  for (let round = 0; round < 2 && writes.length > 0; round++) {
    try {
      for (const write of writes) {
        actual = await api.postStatus(address.project, address.sha, {
          ...write,
          name: address.name,
          pipelineId: pipelineId(),
        });
        learn(actual);
        written.push(write);
      }
      writes = [];
    } catch (error) {
      if (!(error instanceof GitLabError && error.refusedTransition) || round > 0) throw error;
      const shown = await read();
      writes = writesAfterRefusal(shown, planWrites(shown, desired), desired);
    }
  }
  return { result: "converged", writes: written, repaired, pipelineId: pipelineId() };
}

/**
 * How often tekton-lineage may set a lineage's status right against another writer: at most `max`
 * repairs per window; then it stops contesting until the oldest repair leaves the window, so two writers
 * never flap. Per lineage; forgotten with the lineage.
 */
export class RepairBudget {
  private readonly repairs = new Map<string, number[]>();
  private readonly max: () => number;
  private readonly windowMs: number;

  /** `max` is read at every take: a live setting (--gitlab-max-repairs) applies at once. */
  constructor(max: number | (() => number), windowMs: number) {
    this.max = typeof max === "number" ? () => max : max;
    this.windowMs = windowMs;
  }

  /** Takes a repair if one is left ({ allowed: true }); else says until when (own clock) none is. */
  take(lineageId: string, now: number): { allowed: true } | { allowed: false; until: number } {
    const recent = (this.repairs.get(lineageId) ?? []).filter((at) => now - at < this.windowMs);
    if (recent.length < this.max()) {
      recent.push(now);
      this.repairs.set(lineageId, recent);
      return { allowed: true };
    }
    this.repairs.set(lineageId, recent);
    return { allowed: false, until: (recent[0] ?? now) + this.windowMs };
  }

  forget(lineageId: string): void {
    this.repairs.delete(lineageId);
  }
}
