/**
 * GitLab's commit status rules, as a pure model (POST /projects/:id/statuses/:sha and
 * GET /projects/:id/repository/commits/:sha/statuses), from GitLab's API and CommitStatus state machine:
 *
 * - A status is a job keyed by project, pipeline, ref and name. A POST updates the job with that key
 *   while it is pending or running; otherwise it creates a new job, and older jobs of that name in the
 *   pipeline become `retried`.
 * - Transitions: pending → (enqueue) only from created; running → (run) only from pending (or created,
 *   via enqueue); success/failed/canceled from created, pending or running. Anything else is a 400
 *   "Cannot transition status via :<event> from :<state>" that changes nothing.
 * - ref, target_url and description are limited to 255 characters (400 with `message` keyed by field).
 * - Without pipeline_id the status goes to the newest pipeline of the commit and ref, or a new one.
 */

export type State = "pending" | "running" | "success" | "failed" | "canceled" | "skipped";
const states: readonly State[] = ["pending", "running", "success", "failed", "canceled", "skipped"];
const finished: readonly string[] = ["success", "failed", "canceled", "skipped"];

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
  created_at: string;
}

export interface Project {
  id: number;
  path: string;
}

export interface StatusParams {
  state?: string;
  ref?: string;
  name?: string;
  context?: string;
  target_url?: string;
  description?: string;
  coverage?: number;
  pipeline_id?: number;
}

export type ModelResult = { status: number; body: unknown };

const maxLength = 255;

export class GitLabModel {
  readonly projects = new Map<number, Project>();
  readonly pipelines: Pipeline[] = [];
  readonly jobs: Job[] = [];
  /** Token → user name and the projects it may write ("*" for all). */
  readonly tokens = new Map<string, { user: string; projects: "*" | Set<number> }>();
  private nextId = 1000;
  private readonly clock: () => Date;

  constructor(clock: () => Date = () => new Date()) {
    this.clock = clock;
  }

  addProject(id: number, path: string): void {
    this.projects.set(id, { id, path });
  }

  addToken(token: string, user: string, projects: "*" | number[] = "*"): void {
    this.tokens.set(token, { user, projects: projects === "*" ? "*" : new Set(projects) });
  }

  /** Creates a pipeline for a commit, as a merge request event does; returns its id. */
  addPipeline(projectId: number, sha: string, ref: string): number {
    const pipeline = {
      id: this.nextId++,
      project_id: projectId,
      sha,
      ref,
      created_at: this.clock().toISOString(),
    };
    this.pipelines.push(pipeline);
    return pipeline.id;
  }

  /** Resolves "123" or "group/project" to a project. */
  project(idOrPath: string): Project | undefined {
    const decoded = decodeURIComponent(idOrPath);
    const byId = this.projects.get(Number(decoded));
    return byId ?? [...this.projects.values()].find((p) => p.path === decoded);
  }

  authenticate(token: string | undefined): { user: string; projects: "*" | Set<number> } | undefined {
    return token ? this.tokens.get(token) : undefined;
  }

  /** GitLab's answers for a bad token (401), an unknown project (404), a project out of reach (403). */
  private authorize(
    token: string | undefined,
    projectRef: string,
  ): ModelResult | { auth: { user: string; projects: "*" | Set<number> }; project: Project } {
    const auth = this.authenticate(token);
    if (!auth) return { status: 401, body: { message: "401 Unauthorized" } };
    const project = this.project(projectRef);
    if (!project) return { status: 404, body: { message: "404 Project Not Found" } };
    if (auth.projects !== "*" && !auth.projects.has(project.id)) {
      return { status: 403, body: { message: "403 Forbidden" } };
    }
    return { auth, project };
  }

  postStatus(token: string | undefined, projectRef: string, sha: string, params: StatusParams): ModelResult {
    const access = this.authorize(token, projectRef);
    if ("status" in access) return access;
    const { auth, project } = access;
    const state = params.state as State;
    if (!states.includes(state)) {
      return { status: 400, body: { error: "state does not have a valid value" } };
    }
    const name = params.name ?? params.context ?? "default";
    const ref =
      params.ref ?? this.pipelines.find((p) => p.project_id === project.id && p.sha === sha)?.ref ?? "main";
    const tooLong: Record<string, string[]> = {};
    for (const field of ["ref", "target_url", "description"] as const) {
      const value = field === "ref" ? ref : params[field];
      if (value !== undefined && [...value].length > maxLength) {
        tooLong[field] = [`is too long (maximum is ${maxLength} characters)`];
      }
    }
    if (Object.keys(tooLong).length > 0) return { status: 400, body: { message: tooLong } };
    if (params.target_url && !/^https?:\/\/[^\s/]+/.test(params.target_url)) {
      return {
        status: 400,
        body: { message: { target_url: ["is blocked: Only allowed schemes are http, https"] } },
      };
    }
    let pipeline: Pipeline | undefined;
    if (params.pipeline_id !== undefined) {
      pipeline = this.pipelines.find(
        (p) => p.id === Number(params.pipeline_id) && p.project_id === project.id && p.sha === sha,
      );
      if (!pipeline)
        return {
          status: 400,
          body: { message: `pipeline_id ${params.pipeline_id} does not belong to ${sha}` },
        };
    } else {
      pipeline = [...this.pipelines]
        .reverse()
        .find((p) => p.project_id === project.id && p.sha === sha && p.ref === ref);
      if (!pipeline) {
        const id = this.addPipeline(project.id, sha, ref);
        pipeline = this.pipelines.find((p) => p.id === id);
      }
    }
    if (!pipeline) return { status: 500, body: { message: "no pipeline" } };
    const now = this.clock().toISOString();
    const open = this.jobs.find(
      (j) =>
        j.pipeline_id === pipeline.id &&
        j.name === name &&
        j.ref === ref &&
        !j.retried &&
        (j.status === "pending" || j.status === "running"),
    );
    const job: Job = open ?? {
      id: this.nextId++,
      project_id: project.id,
      pipeline_id: pipeline.id,
      sha,
      ref,
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
      author: { username: auth.user },
    };
    const refused = transition(job, state);
    if (refused) return { status: 400, body: { message: refused } };
    if (params.target_url !== undefined) job.target_url = params.target_url;
    if (params.description !== undefined) job.description = params.description;
    if (params.coverage !== undefined) job.coverage = Number(params.coverage);
    if (state === "running" && !job.started_at) job.started_at = now;
    if (finished.includes(state)) job.finished_at = now;
    if (!open) {
      for (const older of this.jobs) {
        if (older.pipeline_id === pipeline.id && older.name === name && older.ref === ref)
          older.retried = true;
      }
      this.jobs.push(job);
    }
    return { status: 201, body: { ...job } };
  }

  listStatuses(
    token: string | undefined,
    projectRef: string,
    sha: string,
    query: { ref?: string; name?: string; all?: boolean; pipeline_id?: number },
  ): ModelResult {
    const access = this.authorize(token, projectRef);
    if ("status" in access) return access;
    const { project } = access;
    const jobs = this.jobs.filter(
      (j) =>
        j.project_id === project.id &&
        j.sha === sha &&
        (query.ref === undefined || j.ref === query.ref) &&
        (query.name === undefined || j.name === query.name) &&
        (query.pipeline_id === undefined || j.pipeline_id === Number(query.pipeline_id)) &&
        (query.all === true || !j.retried),
    );
    return { status: 200, body: jobs.map((j) => ({ ...j })) };
  }

  /** Every job of a commit, newest last, retried ones included: the read-only view. */
  history(projectRef: string, sha: string): Job[] {
    const project = this.project(projectRef);
    return this.jobs.filter((j) => j.project_id === project?.id && j.sha === sha).map((j) => ({ ...j }));
  }
}

/** Applies GitLab's transition for `state`, or says why it is refused. */
function transition(job: Job, state: State): string | undefined {
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
