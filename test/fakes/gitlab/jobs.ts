import type { CompositeStatus } from "./composite.ts";

/** GitLab's jobs (commit statuses) and pipelines, and the state machine of a job (commit_status.rb). */

export type State = "pending" | "running" | "success" | "failed" | "canceled" | "skipped";
export const states: readonly State[] = ["pending", "running", "success", "failed", "canceled", "skipped"];
export const finished: readonly string[] = ["success", "failed", "canceled", "skipped"];

export interface Job {
  id: number;
  project_id: number;
  pipeline_id: number;
  sha: string;
  ref: string;
  name: string;
  status: State | "created";
  target_url: string | null;
  description: string | null;
  coverage: number | null;
  allow_failure: boolean;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  retried: boolean;
  author: { username: string };
}

export interface Pipeline {
  id: number;
  project_id: number;
  sha: string;
  ref: string;
  /** merge_request_event (GitLab CI of a merge request), push, or external (made by a status POST). */
  source: string;
  created_at: string;
}

/** A pipeline as the merge request shows it: its composite status and its jobs. */
export interface PipelineView extends Pipeline {
  status: CompositeStatus | undefined;
  jobs: Job[];
}

/** AddJobService#assign_pipeline_attributes: a job takes its pipeline's project and ref. */
export function newJob(id: number, pipeline: Pipeline, name: string, user: string, now: string): Job {
  return {
    id,
    project_id: pipeline.project_id,
    pipeline_id: pipeline.id,
    sha: pipeline.sha,
    ref: pipeline.ref,
    name,
    status: "created",
    target_url: null,
    description: null,
    coverage: null,
    allow_failure: false,
    created_at: now,
    started_at: null,
    finished_at: null,
    retried: false,
    author: { username: user },
  };
}

/** Applies GitLab's transition for `state`, or says why it is refused. */
export function transition(job: Job, state: State): string | undefined {
  const from = job.status;
  const refuse = (event: string) => `Cannot transition status via :${event} from :${from}`;
  switch (state) {
    case "pending":
      if (from !== "created") return refuse("enqueue");
      break;
    case "running":
      if (from !== "created" && from !== "pending") return refuse("run");
      break;
    case "success":
    case "failed":
    case "canceled":
      if (!["created", "pending", "running"].includes(from))
        return refuse(state === "failed" ? "drop" : state === "success" ? "success" : "cancel");
      break;
    case "skipped":
      if (from !== "created") return refuse("skip");
      break;
  }
  job.status = state;
  return undefined;
}
