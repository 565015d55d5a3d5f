import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeGitLab } from "../../../test/fakes/gitlab/server.ts";
import { GitLabApi, GitLabError, parseRetryAfter } from "./api.ts";
import { HostGate } from "./host-gate.ts";

const sha = "4d6f1f0c2b1e8a7d9c3b5a4f6e8d7c9b1a2f3e4d";
let gitlab: FakeGitLab;
let gate: HostGate;
let api: GitLabApi;

beforeEach(async () => {
  gitlab = await new FakeGitLab().start();
  gitlab.model.addProject(1001, "demo/app");
  gitlab.model.addToken("glpat-secret-value", "bot");
  gitlab.model.addCommit(1001, sha, "feature");
  gate = new HostGate();
  api = new GitLabApi({ host: gitlab.url, token: "glpat-secret-value", gate, timeoutMs: 2000 });
});

afterEach(async () => {
  await gitlab.stop();
});

const write = {
  state: "running",
  description: "attempt 1 running",
  targetUrl: "https://c/1",
  name: "CI / build",
};

describe("GitLabApi", () => {
  it("never follows a redirect with the token: the redirect is GitLab's answer", async () => {
    const elsewhere = await new FakeGitLab().start();
    const redirector = createServer((req, res) => {
      res.writeHead(302, { location: `${elsewhere.url}${req.url}` });
      res.end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, "127.0.0.1", () => resolve()));
    try {
      const host = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
      const redirected = new GitLabApi({ host, token: "glpat-secret-value", gate, timeoutMs: 2000 });
      await expect(redirected.postStatus("1001", sha, write)).rejects.toMatchObject({ status: 302 });
      expect(elsewhere.requests).toEqual([]);
    } finally {
      redirector.close();
      await elsewhere.stop();
    }
  });

  it("posts and reads a commit status through gitbeaker", async () => {
    const posted = await api.postStatus("1001", sha, write);
    expect(posted).toMatchObject({
      status: "running",
      targetUrl: "https://c/1",
      description: "attempt 1 running",
    });
    expect(await api.statuses("1001", sha, { name: "CI / build" })).toEqual([posted]);
    expect(await api.statuses("1001", sha, { name: "other" })).toEqual([]);
    expect(posted.author).toBe("bot");
  });

  it("sends no ref (GitLab takes the pipeline's) and filters reads by pipeline", async () => {
    const mr = gitlab.model.addPipeline(1001, sha, "refs/merge-requests/7/head");
    const other = gitlab.model.addPipeline(1001, sha, "feature", "push");
    const posted = await api.postStatus("1001", sha, { ...write, pipelineId: mr });
    expect(posted.pipelineId).toBe(mr);
    expect(gitlab.model.jobs[0]?.ref).toBe("refs/merge-requests/7/head");
    expect(await api.statuses("1001", sha, { name: "CI / build", pipelineId: mr })).toEqual([posted]);
    expect(await api.statuses("1001", sha, { name: "CI / build", pipelineId: other })).toEqual([]);
    const sent = gitlab.requests.find((r) => r.method === "POST")?.body as Record<string, unknown>;
    expect(sent).not.toHaveProperty("ref");
  });

  it("makes none of gitbeaker's rate limiters, which only gitbeaker's own request handler reads", () => {
    // Every limiter's constructor sets `points` through its base class's setter: counted there, on the
    // one class gitbeaker's ESM import and this require share.
    const { RateLimiterMemory } = createRequire(import.meta.url)("rate-limiter-flexible") as {
      RateLimiterMemory: { prototype: object };
    };
    const base = Object.getPrototypeOf(RateLimiterMemory.prototype) as object;
    const points = Object.getOwnPropertyDescriptor(base, "points");
    let made = 0;
    Object.defineProperty(base, "points", {
      ...points,
      set(this: object, value: unknown) {
        made += 1;
        points?.set?.call(this, value);
      },
    });
    try {
      new GitLabApi({ host: gitlab.url, token: "glpat-other", gate, timeoutMs: 2000 });
    } finally {
      if (points) Object.defineProperty(base, "points", points);
    }
    expect(made).toBe(0);
  });

  it("sends exactly one request per call, even for a 429 (no hidden retries)", async () => {
    gitlab.failNext(5, { status: 429, retryAfterSeconds: 7 });
    const error = (await api.postStatus("1001", sha, write).catch((e: unknown) => e)) as GitLabError;
    expect(error).toBeInstanceOf(GitLabError);
    expect([error.status, error.retryAfterMs, error.retryable]).toEqual([429, 7000, true]);
    expect(gitlab.requests).toHaveLength(1);
  });

  it("holds every call to a host that asked to wait, without sending it", async () => {
    gitlab.failNext(1, { status: 429, retryAfterSeconds: 30 });
    await api.postStatus("1001", sha, write).catch(() => {});
    const held = (await api.postStatus("1001", sha, write).catch((e: unknown) => e)) as GitLabError;
    expect(held.status).toBe(429);
    expect(held.retryAfterMs).toBeGreaterThan(29_000);
    expect(gitlab.requests).toHaveLength(1);
  });

  it("tells refusals, locks, outages and permanent errors apart, and never shows the token", async () => {
    await api.postStatus("1001", sha, write);
    const refused = (await api.postStatus("1001", sha, write).catch((e: unknown) => e)) as GitLabError;
    expect([refused.status, refused.refusedTransition, refused.retryable]).toEqual([400, true, false]);
    gitlab.failNext(1, { status: 409 });
    expect(
      ((await api.postStatus("1001", sha, write).catch((e: unknown) => e)) as GitLabError).retryable,
    ).toBe(true);
    const bad = new GitLabApi({ host: gitlab.url, token: "wrong", gate, timeoutMs: 2000 });
    const unauthorized = (await bad.postStatus("1001", sha, write).catch((e: unknown) => e)) as GitLabError;
    expect([unauthorized.status, unauthorized.retryable]).toEqual([401, false]);
    await gitlab.down();
    const down = (await api.postStatus("1001", sha, write).catch((e: unknown) => e)) as GitLabError;
    expect([down.status, down.retryable, down.hostHeld]).toEqual([0, true, true]);
    for (const error of [refused, unauthorized, down])
      expect(JSON.stringify({ ...error, message: error.message })).not.toContain("glpat");
    await gitlab.up();
  });

  it("sends nothing to a host that did not answer until its window passes, and says when it is back", async () => {
    const clock = { now: 0 };
    const gate = new HostGate(() => clock.now);
    const api = new GitLabApi({ host: gitlab.url, token: "glpat-secret-value", gate, timeoutMs: 2000 });
    const recovered: string[] = [];
    gate.onRecovered((host) => recovered.push(host));
    await gitlab.down();
    const first = (await api.postStatus("1001", sha, write).catch((e: unknown) => e)) as GitLabError;
    expect(first.message).toMatch(/no answer from GitLab/);
    expect(first.retryAfterMs).toBeGreaterThan(0);
    await gitlab.up();
    // Still inside the window: refused without a request, though the host is back.
    const held = (await api.postStatus("1001", sha, write).catch((e: unknown) => e)) as GitLabError;
    expect([held.status, held.hostHeld]).toEqual([0, true]);
    expect(held.message).toMatch(/did not answer; next try in/);
    expect(gitlab.requests).toHaveLength(0);
    expect(recovered).toEqual([]);
    clock.now += gate.wait(gitlab.url).ms;
    await api.postStatus("1001", sha, write);
    expect(recovered).toEqual([gitlab.url]);
  });

  it("treats a gateway's 502/503/504 as the host being down", async () => {
    gitlab.failNext(1, { status: 503 });
    const error = (await api.postStatus("1001", sha, write).catch((e: unknown) => e)) as GitLabError;
    expect([error.status, error.hostHeld]).toEqual([503, true]);
    expect(gate.wait(gitlab.url)).toMatchObject({ reason: "unreachable" });
  });

  it("reads Retry-After as seconds or as a date", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
