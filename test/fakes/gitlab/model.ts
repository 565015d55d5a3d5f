import { compositeStatus } from "./composite.ts";
import {
  finished,
  type Job,
  newJob,
  type Pipeline,
  type PipelineView,
  type State,
  states,
  transition,
} from "./jobs.ts";

export type { Job, Pipeline, PipelineView, State } from "./jobs.ts";

/**
 * GitLab's commit status rules, as a pure model of POST /projects/:id/statuses/:sha and
 * GET /projects/:id/repository/commits/:sha/statuses, read from GitLab's source
 * (app/services/ci/create_commit_status_service.rb, app/services/ci/pipelines/add_job_service.rb,
 * app/models/commit_status.rb, lib/api/commit_statuses.rb):
 *
 * - `validate`: the commit must exist (404 "Commit"); the ref is `ref` if sent, else the ref of the newest
 *   pipeline of the commit, else a branch containing the commit (404 "References for commit" if none).
 *   With `pipeline_id`, the newest pipeline of that id, sha (and ref, if sent) must exist, else 404
 *   "Pipeline for pipeline_id, sha and ref". Without it, the newest pipeline of the sha (and ref, if
 *   sent), or a new external pipeline for that ref.
 * - `find_or_build_external_commit_status`: the job updated is the running-or-pending job of the same
 *   project, pipeline, ref, name **and user**; retried jobs are not excluded. Otherwise a new job.
 * - `AddJobService#execute!` → `update_older_statuses_retried!`: on every POST, every other latest job of
 *   that name in the pipeline becomes retried (the job updated keeps its own flag, even if retried).
 * - State machine (`apply_job_state!`): pending → enqueue! only from created; running → enqueue, run!
 *   only from created or pending; success/failed/canceled from created, pending or running; skipped from
 *   created. Anything else: 400 "Cannot transition status via :<event> from :<state>", nothing changes.
 * - ref, target_url, description: at most 255 characters (400, the message keyed by field); a blank one
 *   is dropped (`attributes_for_keys` keeps only present? values), so the job keeps its old value.
 * - The pipeline's status is the composite of its latest jobs (composite.ts).
 */

export interface Project {
  id: number;
  path: string;
}

export interface Note {
  id: number;
  project_id: number;
  merge_request_iid: number;
  body: string;
  author: { username: string };
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
  readonly notes: Note[] = [];
  /** Token → user name and the projects it may write ("*" for all). */
  readonly tokens = new Map<string, { user: string; projects: "*" | Set<number> }>();
  /** project id → sha → the branches that contain it. */
  private readonly commits = new Map<number, Map<string, string[]>>();
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

  /** A commit pushed to a branch of a project (a merge request's source branch, say). */
  addCommit(projectId: number, sha: string, branch: string): void {
    const commits = this.commits.get(projectId) ?? new Map<string, string[]>();
    this.commits.set(projectId, commits);
    const branches = commits.get(sha) ?? [];
    if (!branches.includes(branch)) branches.push(branch);
    commits.set(sha, branches);
  }

  hasCommit(projectId: number, sha: string): boolean {
    return this.commits.get(projectId)?.has(sha) === true;
  }

  /** The newest commit pushed to a branch. */
  headOf(projectId: number, branch: string): string | undefined {
    const shas = [...(this.commits.get(projectId) ?? [])].filter(([, branches]) => branches.includes(branch));
    return shas.at(-1)?.[0];
  }

  /** Creates a pipeline for a commit, as a push or a merge request event does; returns its id. */
  addPipeline(projectId: number, sha: string, ref: string, source = "merge_request_event"): number {
    const known = this.commits.get(projectId)?.has(sha);
    if (!known) this.addCommit(projectId, sha, ref);
    const pipeline = { id: this.nextId++, project_id: projectId, sha, ref, source, created_at: this.now() };
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
  ): ModelResult | { user: string; project: Project } {
    const auth = this.authenticate(token);
    if (!auth) return { status: 401, body: { message: "401 Unauthorized" } };
    const project = this.project(projectRef);
    if (!project) return { status: 404, body: { message: "404 Project Not Found" } };
    if (auth.projects !== "*" && !auth.projects.has(project.id)) {
      return { status: 403, body: { message: "403 Forbidden" } };
    }
    return { user: auth.user, project };
  }

  /** CreateCommitStatusService#first_matching_pipeline: the newest of the sha, filtered by ref and id. */
  private firstMatchingPipeline(project: Project, sha: string, params: StatusParams): Pipeline | undefined {
    return this.pipelines
      .filter(
        (p) =>
          p.project_id === project.id &&
          p.sha === sha &&
          (params.ref === undefined || p.ref === params.ref) &&
          (params.pipeline_id === undefined || p.id === Number(params.pipeline_id)),
      )
      .sort((a, b) => b.id - a.id)[0];
  }

  postStatus(token: string | undefined, projectRef: string, sha: string, params: StatusParams): ModelResult {
    const access = this.authorize(token, projectRef);
    if ("status" in access) return access;
    const { user, project } = access;
    const branches = this.commits.get(project.id)?.get(sha);
    if (!branches) return notFound("Commit");
    const state = params.state as State;
    if (!params.state) return { status: 400, body: { message: "State is required" } };
    if (!states.includes(state)) {
      return { status: 400, body: { error: "state does not have a valid value" } };
    }
    const matching = this.firstMatchingPipeline(project, sha, params);
    const ref = params.ref ?? matching?.ref ?? branches[0];
    if (!ref) return notFound("References for commit");
    if (params.pipeline_id !== undefined && !matching)
      return notFound("Pipeline for pipeline_id, sha and ref");
    const tooLong: Record<string, string[]> = {};
    for (const field of ["ref", "target_url", "description"] as const) {
      const value = field === "ref" ? ref : params[field];
      if (value !== undefined && [...value].length > maxLength) {
        tooLong[field] = [`is too long (maximum is ${maxLength} characters)`];
      }
    }
    if (Object.keys(tooLong).length > 0) return { status: 400, body: { message: tooLong } };
    if (params.target_url?.trim() && !/^https?:\/\/[^\s/]+/.test(params.target_url)) {
      return {
        status: 400,
        body: { message: { target_url: ["is blocked: Only allowed schemes are http, https"] } },
      };
    }
    const pipeline = matching ?? this.pipelineById(this.addPipeline(project.id, sha, ref, "external"));
    const name = params.name ?? params.context ?? "default";
    const open = this.jobs.find(
      (j) =>
        j.pipeline_id === pipeline.id &&
        j.name === name &&
        j.ref === pipeline.ref &&
        j.author.username === user &&
        (j.status === "pending" || j.status === "running"),
    );
    const now = this.now();
    const job: Job = open ? { ...open } : newJob(this.nextId, pipeline, name, user, now);
    const refused = transition(job, state);
    if (refused) return { status: 400, body: { message: refused } };
    // attributes_for_keys drops values that are not present?: a blank field keeps the job's old value.
    if (params.target_url?.trim()) job.target_url = params.target_url;
    if (params.description?.trim()) job.description = params.description;
    if (params.coverage !== undefined) job.coverage = Number(params.coverage);
    if (state === "running" && !job.started_at) job.started_at = now;
    if (finished.includes(state)) job.finished_at = now;
    if (open) Object.assign(open, job);
    else {
      this.nextId += 1;
      this.jobs.push(job);
    }
    for (const older of this.jobs) {
      if (older.pipeline_id === pipeline.id && older.name === name && older.id !== job.id && !older.retried)
        older.retried = true;
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

  /** GET /projects/:id/pipelines/:pipeline_id: the pipeline and its composite status. */
  getPipeline(token: string | undefined, projectRef: string, pipelineId: number): ModelResult {
    const access = this.authorize(token, projectRef);
    if ("status" in access) return access;
    const pipeline = this.pipelines.find((p) => p.id === pipelineId && p.project_id === access.project.id);
    if (!pipeline) return { status: 404, body: { message: "404 Not found" } };
    const { jobs: _jobs, ...view } = this.pipelineView(pipeline);
    return { status: 200, body: view };
  }

  /** POST /projects/:id/merge_requests/:iid/notes: a comment on a merge request. */
  addNote(token: string | undefined, projectRef: string, iid: number, body: string | undefined): ModelResult {
    const access = this.authorize(token, projectRef);
    if ("status" in access) return access;
    if (!body) return { status: 400, body: { message: "400 Bad request - body is missing" } };
    const note = {
      id: this.nextId++,
      project_id: access.project.id,
      merge_request_iid: iid,
      body,
      author: { username: access.user },
    };
    this.notes.push(note);
    return { status: 201, body: note };
  }

  /** Every job of a commit, oldest first, retried ones included: the read-only view. */
  history(projectRef: string, sha: string): Job[] {
    const project = this.project(projectRef);
    return this.jobs.filter((j) => j.project_id === project?.id && j.sha === sha).map((j) => ({ ...j }));
  }

  /** Every pipeline of a commit, oldest first, with its composite status: what the merge request shows. */
  pipelinesOf(projectRef: string, sha: string): PipelineView[] {
    const project = this.project(projectRef);
    return this.pipelines
      .filter((p) => p.project_id === project?.id && p.sha === sha)
      .map((p) => this.pipelineView(p));
  }

  private pipelineView(pipeline: Pipeline): PipelineView {
    const jobs = this.jobs.filter((j) => j.pipeline_id === pipeline.id).map((j) => ({ ...j }));
    const status = compositeStatus(jobs.filter((j) => !j.retried).map((j) => j.status));
    return { ...pipeline, status, jobs };
  }

  private pipelineById(id: number): Pipeline {
    const pipeline = this.pipelines.find((p) => p.id === id);
    if (!pipeline) throw new Error(`no pipeline ${id}`);
    return pipeline;
  }

  private now(): string {
    return this.clock().toISOString();
  }
}

function notFound(what: string): ModelResult {
  return { status: 404, body: { message: `404 ${what} Not Found` } };
}
