import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { GitLabModel, type StatusParams } from "./model.ts";
import { GitLabRepositories } from "./repositories.ts";
import { routeRepositoryApi } from "./repository-routes.ts";

export interface Fault {
  status: number;
  retryAfterSeconds?: number;
  message?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
  at: number;
  body?: unknown;
}

/**
 * A stateful fake GitLab on 127.0.0.1 (node:http) serving the commit status endpoints of GitLab's REST
 * API by the rules in model.ts, with the failures of the real one on demand: 409 while another update of
 * the same commit is in progress, 429 with Retry-After and RateLimit-* headers, 5xx, an outage, latency.
 * Besides statuses: GET /projects/:id/pipelines/:pipeline_id (with its composite status) and merge request
 * notes (PaC's last resort when it cannot set a status). Read-only JSON views: every job of a commit
 * (GET /__fake/projects/:id/commits/:sha/statuses), every pipeline of a commit with its composite status
 * and jobs — what the merge request shows (GET /__fake/projects/:id/commits/:sha/pipelines), and
 * GET /__fake/requests. Test controls: POST /__fake/projects/:id/commits and /__fake/projects/:id/pipelines
 * ({ sha, ref }) push a commit and make a pipeline, as GitLab itself would.
 */
export class FakeGitLab {
  readonly model: GitLabModel;
  /** Users, files, merge requests and members: what a real PaC reads (repository-routes.ts). */
  readonly repositories: GitLabRepositories;
  readonly requests: RecordedRequest[] = [];
  /** Each POST holds its commit's lock this long; a POST meeting the lock gets 409, as GitLab answers. */
  processingMs: number;
  latencyMs = 0;
  private server: Server | undefined;
  private unreachable = false;
  private readonly sockets = new Set<Socket>();
  private readonly faults: { fault: Fault; path?: RegExp }[] = [];
  private readonly locks = new Set<string>();
  private rate: { perSecond: number; tokens: number; at: number } | undefined;
  private readonly listeners: ((request: RecordedRequest) => void)[] = [];
  port = 0;

  constructor(options: { model?: GitLabModel; processingMs?: number; port?: number } = {}) {
    this.model = options.model ?? new GitLabModel();
    this.repositories = new GitLabRepositories(this.model);
    this.processingMs = options.processingMs ?? 2;
    this.port = options.port ?? 0;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on("connection", (socket) => {
      if (this.unreachable) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    this.repositories.baseUrl = this.url;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  /**
   * GitLab is unreachable until up(): every connection is cut as it opens, and open ones are cut now.
   * The port stays bound, so no other process can take it meanwhile.
   */
  async down(): Promise<void> {
    this.unreachable = true;
    for (const socket of this.sockets) socket.destroy();
  }

  /** GitLab is back, on the same port, with the same state. */
  async up(): Promise<void> {
    this.unreachable = false;
  }

  /** The next `count` API requests (whose path matches `path`, if given) fail this way. */
  failNext(count: number, fault: Fault, path?: RegExp): void {
    for (let i = 0; i < count; i++) this.faults.push({ fault, path });
  }

  /** At most `perSecond` API requests per second; beyond, 429 with Retry-After. undefined lifts the limit. */
  rateLimit(perSecond: number | undefined): void {
    this.rate = perSecond === undefined ? undefined : { perSecond, tokens: perSecond, at: Date.now() };
  }

  /** Told of every API request once answered, until the function returned is called. */
  onRequest(listener: (request: RecordedRequest) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at >= 0) this.listeners.splice(at, 1);
    };
  }

  /** API requests (not the /__fake views) matching a method and path pattern. */
  count(method: string, path: RegExp, status?: number): number {
    return this.requests.filter(
      (r) => r.method === method && path.test(r.path) && (status === undefined || r.status === status),
    ).length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const path = url.pathname;
    const method = req.method ?? "GET";
    const body = await readBody(req);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}, raw?: string) => {
      if (!path.startsWith("/__fake/")) {
        const recorded = { method, path, status, at: Date.now(), body };
        this.requests.push(recorded);
        for (const listener of this.listeners) listener(recorded);
      }
      res.writeHead(status, {
        "content-type": raw === undefined ? "application/json" : "text/plain",
        ...headers,
      });
      res.end(raw ?? JSON.stringify(payload));
    };
    if (path.startsWith("/__fake/")) return this.view(method, path, body, send);
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    const index = this.faults.findIndex((f) => !f.path || f.path.test(path));
    const fault = index === -1 ? undefined : this.faults.splice(index, 1)[0]?.fault;
    if (fault) {
      const headers: Record<string, string> = {};
      if (fault.retryAfterSeconds !== undefined) headers["retry-after"] = String(fault.retryAfterSeconds);
      return send(fault.status, { message: fault.message ?? defaultMessage(fault.status) }, headers);
    }
    const limited = this.takeRateToken();
    if (limited) return send(429, { message: "Retry later" }, limited);
    const token = headerValue(req.headers["private-token"]) ?? bearer(req.headers.authorization);

    const post = /^\/api\/v4\/projects\/([^/]+)\/statuses\/([0-9a-f]+)$/.exec(path);
    if (post && method === "POST") {
      const [, project = "", sha = ""] = post;
      const lock = `${this.model.project(project)?.id ?? project}/${sha}`;
      if (this.locks.has(lock))
        return send(409, { message: "Another update to this commit status is in progress" });
      this.locks.add(lock);
      try {
        if (this.processingMs > 0) await sleep(this.processingMs);
        const params = { ...Object.fromEntries(url.searchParams), ...(body as object) } as StatusParams;
        const result = this.model.postStatus(token, project, sha, params);
        return send(result.status, result.body);
      } finally {
        this.locks.delete(lock);
      }
    }
    const list = /^\/api\/v4\/projects\/([^/]+)\/repository\/commits\/([0-9a-f]+)\/statuses$/.exec(path);
    if (list && method === "GET") {
      const [, project = "", sha = ""] = list;
      const q = url.searchParams;
      const result = this.model.listStatuses(token, project, sha, {
        ref: q.get("ref") ?? undefined,
        name: q.get("name") ?? undefined,
        all: q.get("all") === "true",
        pipeline_id: q.has("pipeline_id") ? Number(q.get("pipeline_id")) : undefined,
      });
      return send(result.status, result.body, {
        "x-total": String(Array.isArray(result.body) ? result.body.length : 0),
      });
    }
    const pipeline = /^\/api\/v4\/projects\/([^/]+)\/pipelines\/(\d+)$/.exec(path);
    if (pipeline && method === "GET") {
      const result = this.model.getPipeline(token, pipeline[1] ?? "", Number(pipeline[2]));
      return send(result.status, result.body);
    }
    const note = /^\/api\/v4\/projects\/([^/]+)\/merge_requests\/(\d+)\/notes$/.exec(path);
    if (note && method === "POST") {
      const text = { ...Object.fromEntries(url.searchParams), ...(body as object) } as { body?: string };
      const result = this.model.addNote(token, note[1] ?? "", Number(note[2]), text.body);
      return send(result.status, result.body);
    }
    const read = routeRepositoryApi(this.model, this.repositories, {
      method,
      path,
      query: url.searchParams,
      token,
      body,
    });
    if (read) return send(read.status, read.body, read.headers, read.raw);
    return send(404, { message: "404 Not Found" });
  }

  private view(
    method: string,
    path: string,
    body: unknown,
    send: (status: number, payload: unknown) => void,
  ): void {
    // Test controls (another process, such as make demo beside make run): a commit pushed, a pipeline made.
    const push = /^\/__fake\/projects\/(\d+)\/(commits|pipelines)$/.exec(path);
    if (push && method === "POST") {
      const { sha = "", ref = "" } = body as { sha?: string; ref?: string };
      const project = Number(push[1]);
      if (!/^[0-9a-f]{40}$/.test(sha) || !ref) send(400, { message: "sha and ref are required" });
      else if (push[2] === "commits") {
        this.model.addCommit(project, sha, ref);
        send(201, { sha, ref });
      } else send(201, { id: this.model.addPipeline(project, sha, ref) });
      return;
    }
    const statuses = /^\/__fake\/projects\/([^/]+)\/commits\/([0-9a-f]+)\/statuses$/.exec(path);
    const pipelines = /^\/__fake\/projects\/([^/]+)\/commits\/([0-9a-f]+)\/pipelines$/.exec(path);
    if (statuses) send(200, this.model.history(statuses[1] ?? "", statuses[2] ?? ""));
    else if (pipelines) send(200, this.model.pipelinesOf(pipelines[1] ?? "", pipelines[2] ?? ""));
    else if (path === "/__fake/requests") send(200, this.requests);
    else send(404, { message: "no such view" });
  }

  private takeRateToken(): Record<string, string> | undefined {
    const rate = this.rate;
    if (!rate) return undefined;
    const now = Date.now();
    rate.tokens = Math.min(rate.perSecond, rate.tokens + ((now - rate.at) / 1000) * rate.perSecond);
    rate.at = now;
    if (rate.tokens >= 1) {
      rate.tokens -= 1;
      return undefined;
    }
    const retryAfter = Math.max(1, Math.ceil((1 - rate.tokens) / rate.perSecond));
    return {
      "retry-after": String(retryAfter),
      "ratelimit-limit": String(rate.perSecond),
      "ratelimit-remaining": "0",
      "ratelimit-reset": String(Math.ceil(now / 1000) + retryAfter),
      "ratelimit-resettime": new Date(now + retryAfter * 1000).toUTCString(),
    };
  }
}

function defaultMessage(status: number): string {
  if (status === 429) return "Retry later";
  if (status === 409) return "Another update to this commit status is in progress";
  if (status >= 500) return "500 Internal Server Error";
  return `${status}`;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function bearer(value: string | undefined): string | undefined {
  return value?.startsWith("Bearer ") ? value.slice(7) : undefined;
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      if (!text) return resolve({});
      const type = req.headers["content-type"] ?? "";
      if (type.includes("application/x-www-form-urlencoded"))
        return resolve(Object.fromEntries(new URLSearchParams(text)));
      try {
        resolve(JSON.parse(text));
      } catch {
        resolve({});
      }
    });
  });
}
