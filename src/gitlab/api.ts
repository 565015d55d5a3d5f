import { createRequesterFn } from "@gitbeaker/requester-utils";
import { Commits } from "@gitbeaker/rest";
import type { ActualStatus } from "./writes.ts";

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

  /** Worth trying again later: no answer, a lock (409), a rate limit (429), a server error. */
  get retryable(): boolean {
    return (
      this.status === 0 ||
      this.status === 408 ||
      this.status === 409 ||
      this.status === 429 ||
      this.status >= 500
    );
  }

  /** GitLab refused a transition ("Cannot transition status via :run from :running"). */
  get refusedTransition(): boolean {
    return this.status === 400 && this.message.startsWith("Cannot transition status");
  }
}

/** Per host: GitLab asked everyone to wait until then (Retry-After); nothing is sent before. */
export class HostGate {
  private readonly notBefore = new Map<string, number>();

  hold(host: string, ms: number): void {
    this.notBefore.set(host, Math.max(this.notBefore.get(host) ?? 0, Date.now() + ms));
  }

  /** Ms to wait before talking to this host, 0 when free. */
  wait(host: string): number {
    return Math.max(0, (this.notBefore.get(host) ?? 0) - Date.now());
  }
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
    if (wait > 0) throw new GitLabError(429, `GitLab asked to wait (Retry-After), ${wait} ms left`, wait);
    const base = options.prefixUrl?.endsWith("/") ? options.prefixUrl : `${options.prefixUrl ?? ""}/`;
    const url = new URL(endpoint, base);
    url.search = options.searchParams ?? "";
    let response: Response;
    try {
      response = await fetch(url, {
        method: options.method,
        headers: options.headers,
        body: options.body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      observe(options.method ?? "GET", 0);
      throw new GitLabError(0, `no answer from GitLab (${cause})`);
    }
    observe(options.method ?? "GET", response.status);
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
    const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
    if (response.status === 429) gate.hold(host, retryAfterMs ?? 1000);
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
}

export function actualOf(job: StatusJob): ActualStatus {
  return {
    id: job.id,
    status: job.status,
    targetUrl: job.target_url ?? "",
    description: job.description ?? "",
    pipelineId: job.pipeline_id,
  };
}

/** Told of every request sent: its method and the HTTP status (0 for no answer). */
export type RequestObserver = (method: string, status: number) => void;

/** The commit status endpoints of one GitLab, for one token, through @gitbeaker/rest. */
export class GitLabApi {
  private readonly commits: InstanceType<typeof Commits>;

  constructor(options: {
    host: string;
    token: string;
    gate: HostGate;
    timeoutMs: number;
    observe?: RequestObserver;
  }) {
    this.commits = new Commits({
      host: options.host,
      token: options.token,
      requesterFn: createRequesterFn(
        (_serviceOptions, requestOptions) => Promise.resolve(requestOptions),
        singleAttempt(options.host, options.gate, options.timeoutMs, options.observe ?? (() => {})) as never,
      ),
    });
  }

  async postStatus(
    project: string,
    sha: string,
    write: {
      state: string;
      description: string;
      targetUrl: string;
      ref?: string;
      name: string;
      pipelineId?: number;
    },
  ): Promise<ActualStatus> {
    const job = (await this.commits.editStatus(project, sha, write.state as "running", {
      name: write.name,
      description: write.description,
      targetUrl: write.targetUrl,
      ...(write.ref ? { ref: write.ref } : {}),
      ...(write.pipelineId ? { pipelineId: write.pipelineId } : {}),
    })) as unknown as StatusJob;
    return actualOf(job);
  }

  /** The newest job of this context that GitLab has not retried, or undefined. */
  async currentStatus(
    project: string,
    sha: string,
    query: { ref?: string; name: string },
  ): Promise<ActualStatus | undefined> {
    const jobs = (await this.commits.allStatuses(project, sha, {
      name: query.name,
      ...(query.ref ? { ref: query.ref } : {}),
    })) as unknown as StatusJob[];
    const newest = jobs.filter((j) => j.status !== undefined).sort((a, b) => b.id - a.id)[0];
    return newest ? actualOf(newest) : undefined;
  }
}
