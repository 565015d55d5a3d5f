import { createRequesterFn } from "@gitbeaker/requester-utils";
import { Commits, MergeRequests, Projects } from "@gitbeaker/rest";
import { transientStatus } from "../../kube/backoff.ts";
import type { HostGate } from "./host-gate.ts";

/** A commit status's state, as GitLab names it (PaC's "in_progress" is GitLab's "running"). */
export type GitLabState = "pending" | "running" | "success" | "failed" | "canceled";

/** Open: GitLab moves it in place by a state change only, and refuses a post of the state it has. */
export function isOpen(status: string): boolean {
  return status === "pending" || status === "running";
}

/** The status GitLab shows now for the lineage's context (its newest job that is not retried). */
export interface ActualStatus {
  id: number;
  status: string;
  targetUrl: string;
  description: string;
  pipelineId?: number;
  /** When GitLab made the job (its clock), and by whom. */
  createdAt?: string;
  /**
   * When it last became finished (its clock): GitLab updates an open job in place and keeps its
   * created_at, so a failure posted onto an open job (an /ok-to-test "Pending approval", say) shows here.
   */
  finishedAt?: string;
  author?: string;
  /** GitLab retried it (a newer job of the name exists in its pipeline); only read with `all`. */
  retried?: boolean;
}

export interface StatusWrite {
  state: GitLabState;
  description: string;
  targetUrl: string;
}

/** A GitLab answer that was not a success, or no answer; never carries the token. */
export class GitLabError extends Error {
  /** HTTP status; 0 when no response came (refused, reset, timeout). */
  readonly status: number;
  /** How long GitLab asked to wait (Retry-After), in ms. */
  readonly retryAfterMs?: number;

  constructor(status: number, message: string, retryAfterMs?: number) {
    super(message);
    this.name = "GitLabError";
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }

  /** Worth trying again later: a transient status, or GitLab's per-commit lock (409). */
  get retryable(): boolean {
    return transientStatus(this.status) || this.status === 409;
  }

  /**
   * The host, not this request, is the trouble: it does not answer (or its gateway says it is down), or it
   * asked everyone to wait. Such work waits on the host (HostGate), not on a backoff of its own.
   */
  get hostHeld(): boolean {
    return this.status === 0 || this.status === 429 || gatewayDown(this.status);
  }

  /** GitLab refused a transition ("Cannot transition status via :run from :running"). */
  get refusedTransition(): boolean {
    return this.status === 400 && this.message.startsWith("Cannot transition status");
  }
}

/** What a proxy in front of GitLab answers while GitLab itself is down. */
function gatewayDown(status: number): boolean {
  return status === 502 || status === 503 || status === 504;
}

export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

interface RequestOptions {
  prefixUrl?: string;
  searchParams?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * One HTTP attempt per call, in place of @gitbeaker/rest's own retry loop (which retries 429 and 502
 * ten times within ~250 ms and ignores Retry-After): retries are decided by the caller, who honours
 * Retry-After with backoff and jitter. gitbeaker still builds every request and parses every answer.
 */
function singleAttempt(host: string, gate: HostGate, timeoutMs: number, observe: RequestObserver) {
  return async (endpoint: string, options: RequestOptions) => {
    const wait = gate.wait(host);
    if (wait.ms > 0) {
      throw wait.reason === "unreachable"
        ? new GitLabError(0, `GitLab did not answer; next try in ${wait.ms} ms`, wait.ms)
        : new GitLabError(429, `GitLab asked to wait (Retry-After), ${wait.ms} ms left`, wait.ms);
    }
    const base = options.prefixUrl?.endsWith("/") ? options.prefixUrl : `${options.prefixUrl ?? ""}/`;
    const url = new URL(endpoint, base);
    url.search = options.searchParams ?? "";
    let response: Response;
    try {
      response = await fetch(url, {
        method: options.method,
        headers: options.headers,
        body: options.body,
        // A redirect is GitLab's answer, never followed: the token would go wherever it points.
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      observe(options.method ?? "GET", 0);
      gate.unreachable(host);
      throw new GitLabError(0, `no answer from GitLab (${cause})`, gate.wait(host).ms);
    }
    observe(options.method ?? "GET", response.status);
    if (gatewayDown(response.status)) gate.unreachable(host);
    else gate.answered(host);
    const type = response.headers.get("content-type") ?? "";
    const payload: unknown = type.includes("application/json")
      ? await response.json().catch(() => ({}))
      : await response.text();
    if (response.ok)
      return {
        body: payload,
        headers: Object.fromEntries(response.headers.entries()),
        status: response.status,
      };
    let retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
    if (response.status === 429) gate.hold(host, retryAfterMs ?? 1000);
    else if (retryAfterMs !== undefined) gate.hold(host, retryAfterMs);
    retryAfterMs = Math.max(retryAfterMs ?? 0, gate.wait(host).ms) || undefined;
    const message =
      (payload as { message?: unknown; error?: unknown } | undefined)?.message ??
      (payload as { error?: unknown })?.error ??
      payload;
    throw new GitLabError(
      response.status,
      typeof message === "string" ? message : JSON.stringify(message),
      retryAfterMs,
    );
  };
}

interface StatusJob {
  id: number;
  status: string;
  target_url?: string | null;
  description?: string | null;
  pipeline_id?: number;
  created_at?: string;
  finished_at?: string | null;
  author?: { username?: string } | null;
  retried?: boolean;
}

export function actualOf(job: StatusJob): ActualStatus {
  return {
    id: job.id,
    status: job.status,
    targetUrl: job.target_url ?? "",
    description: job.description ?? "",
    pipelineId: job.pipeline_id,
    createdAt: job.created_at,
    finishedAt: job.finished_at ?? undefined,
    author: job.author?.username ?? undefined,
    ...(job.retried ? { retried: true } : {}),
  };
}

/** Told of every request sent: its method and the HTTP status (0 for no answer). */
export type RequestObserver = (method: string, status: number) => void;

/**
 * One commit status to post (GitLab's name for a status is its `name`, also its context). Like PaC
 * (pkg/provider/gitlab/gitlab.go, CreateStatus) no `ref` is sent: GitLab takes the pipeline's own ref,
 * and a ref that differs from the pipeline's would be refused (404 "Pipeline for pipeline_id, sha and ref").
 */
export interface StatusPost {
  state: string;
  description: string;
  targetUrl: string;
  name: string;
  pipelineId?: number;
}

/** Which statuses of a commit to read: one name, in one pipeline if given, retried ones too if `all`. */
export interface StatusQuery {
  name: string;
  pipelineId?: number;
  all?: boolean;
}

/** The commit status calls the reporter makes (GitLabApi through @gitbeaker/rest; a fake in unit tests). */
export interface StatusApi {
  postStatus(project: string, sha: string, write: StatusPost): Promise<ActualStatus>;
  /** The jobs of this name (in this pipeline, if given) that GitLab has not retried (unless `all`), oldest first. */
  statuses(project: string, sha: string, query: StatusQuery): Promise<ActualStatus[]>;
  /** A project's id, by its path ("group/project"): GET /projects/:id. */
  projectId(path: string): Promise<number>;
  /** The source project of a merge request, as GitLab records it: GET /projects/:id/merge_requests/:iid. */
  mergeRequestSource(project: string, iid: number): Promise<number>;
}

/** The newest of a commit's statuses, or undefined. */
export function newestStatus(statuses: readonly ActualStatus[]): ActualStatus | undefined {
  return statuses.reduce<ActualStatus | undefined>((a, b) => (!a || b.id > a.id ? b : a), undefined);
}

/** The commit status endpoints of one GitLab, for one token, through @gitbeaker/rest. */
export class GitLabApi implements StatusApi {
  private readonly commits: InstanceType<typeof Commits>;
  private readonly projects: InstanceType<typeof Projects>;
  private readonly mergeRequests: InstanceType<typeof MergeRequests>;

  constructor(options: {
    host: string;
    token: string;
    gate: HostGate;
    timeoutMs: number;
    observe?: RequestObserver;
  }) {
    const common = {
      host: options.host,
      token: options.token,
      // gitbeaker makes a rate limiter per resource for each of its default endpoint limits (45 a client,
      // ~22 KiB; 500 clients, one per tenant token, were 12.6 MiB of heap), which only its own request
      // handler consults. Ours (singleAttempt) never does: HostGate is what waits for a host.
      rateLimits: {},
      requesterFn: createRequesterFn(
        (_serviceOptions, requestOptions) => Promise.resolve(requestOptions),
        singleAttempt(options.host, options.gate, options.timeoutMs, options.observe ?? (() => {})) as never,
      ),
    };
    this.commits = new Commits(common);
    this.projects = new Projects(common);
    this.mergeRequests = new MergeRequests(common);
  }

  async projectId(path: string): Promise<number> {
    return ((await this.projects.show(path)) as unknown as { id: number }).id;
  }

  async mergeRequestSource(project: string, iid: number): Promise<number> {
    const mr = (await this.mergeRequests.show(project, iid)) as unknown as { source_project_id: number };
    return mr.source_project_id;
  }

  async postStatus(project: string, sha: string, write: StatusPost): Promise<ActualStatus> {
    const job = (await this.commits.editStatus(project, sha, write.state as "running", {
      name: write.name,
      description: write.description,
      targetUrl: write.targetUrl,
      ...(write.pipelineId ? { pipelineId: write.pipelineId } : {}),
    })) as unknown as StatusJob;
    return actualOf(job);
  }

  async statuses(project: string, sha: string, query: StatusQuery): Promise<ActualStatus[]> {
    // GitLab filters by pipeline_id too; gitbeaker's types omit it but pass it on (as pipeline_id).
    const options = {
      name: query.name,
      ...(query.pipelineId ? { pipelineId: query.pipelineId } : {}),
      ...(query.all ? { all: true } : {}),
    };
    const jobs = (await this.commits.allStatuses(
      project,
      sha,
      options as { name: string },
    )) as unknown as StatusJob[];
    return jobs
      .filter((j) => j.status !== undefined)
      .map(actualOf)
      .sort((a, b) => a.id - b.id);
  }
}
