import { Commits } from "@gitbeaker/rest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeGitLab } from "./server.ts";

const sha = "4d6f1f0c2b1e8a7d9c3b5a4f6e8d7c9b1a2f3e4d";
let gitlab: FakeGitLab;
let commits: InstanceType<typeof Commits>;

beforeEach(async () => {
  gitlab = await new FakeGitLab().start();
  gitlab.model.addProject(1001, "demo/app");
  gitlab.model.addToken("glpat-test", "bot");
  gitlab.model.addCommit(1001, sha, "feature");
  commits = new Commits({ host: gitlab.url, token: "glpat-test" });
});

afterEach(async () => {
  await gitlab.stop();
});

describe("the fake GitLab, driven by the real @gitbeaker/rest client", () => {
  it("creates and lists commit statuses", async () => {
    const created = await commits.editStatus(1001, sha, "running", {
      ref: "feature",
      name: "Pipelines as Code CI / build",
      targetUrl: "https://console.example/ns/team-a/pipelinerun/build-1",
      description: "running",
    });
    expect(created).toMatchObject({
      status: "running",
      name: "Pipelines as Code CI / build",
      ref: "feature",
    });
    const listed = await commits.allStatuses(1001, sha, {
      ref: "feature",
      name: "Pipelines as Code CI / build",
    });
    expect(listed.map((s) => [s.status, s.target_url])).toEqual([
      ["running", "https://console.example/ns/team-a/pipelinerun/build-1"],
    ]);
  });

  it("reports GitLab's refusals as errors carrying the status", async () => {
    await commits.editStatus(1001, sha, "running", { ref: "feature", name: "ctx" });
    const error = await commits
      .editStatus(1001, sha, "running", { ref: "feature", name: "ctx" })
      .catch((e: unknown) => e);
    expect((error as { cause: { response: Response } }).cause.response.status).toBe(400);
    expect((error as Error).message).toBe("Cannot transition status via :run from :running");
  });

  it("keeps a read-only JSON view of every job of a commit, retried ones included", async () => {
    await commits.editStatus(1001, sha, "failed", { ref: "feature", name: "ctx", description: "failed" });
    await commits.editStatus(1001, sha, "running", { ref: "feature", name: "ctx", description: "attempt 2" });
    const view = (await (
      await fetch(`${gitlab.url}/__fake/projects/1001/commits/${sha}/statuses`)
    ).json()) as {
      status: string;
      retried: boolean;
    }[];
    expect(view.map((j) => [j.status, j.retried])).toEqual([
      ["failed", true],
      ["running", false],
    ]);
  });

  it("answers 429 with Retry-After and RateLimit headers when rate limited", async () => {
    gitlab.rateLimit(1);
    await fetch(`${gitlab.url}/api/v4/projects/1001/repository/commits/${sha}/statuses`, {
      headers: { "private-token": "glpat-test" },
    });
    const limited = await fetch(`${gitlab.url}/api/v4/projects/1001/repository/commits/${sha}/statuses`, {
      headers: { "private-token": "glpat-test" },
    });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get("ratelimit-remaining")).toBe("0");
  });

  it("answers 409 to an update of a commit while another is in progress", async () => {
    gitlab.processingMs = 50;
    const statuses = await Promise.allSettled([
      commits.editStatus(1001, sha, "running", { ref: "feature", name: "a" }),
      commits.editStatus(1001, sha, "running", { ref: "feature", name: "b" }),
    ]);
    expect(statuses.map((s) => s.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect(gitlab.count("POST", /statuses/, 409)).toBe(1);
  });

  it("shows each pipeline of a commit with its composite status, and serves it and notes through the API", async () => {
    const mr = gitlab.model.addPipeline(1001, sha, "refs/merge-requests/7/head");
    await commits.editStatus(1001, sha, "failed", { name: "PaC", description: "failed" });
    const view = (await (
      await fetch(`${gitlab.url}/__fake/projects/1001/commits/${sha}/pipelines`)
    ).json()) as {
      id: number;
      status: string;
      jobs: { name: string }[];
    }[];
    expect(view.map((p) => [p.id, p.status, p.jobs.map((j) => j.name)])).toEqual([[mr, "failed", ["PaC"]]]);
    const pipeline = await fetch(`${gitlab.url}/api/v4/projects/1001/pipelines/${mr}`, {
      headers: { "private-token": "glpat-test" },
    });
    expect(await pipeline.json()).toMatchObject({ id: mr, status: "failed" });
    const note = await fetch(`${gitlab.url}/api/v4/projects/1001/merge_requests/7/notes`, {
      method: "POST",
      headers: { "private-token": "glpat-test", "content-type": "application/json" },
      body: JSON.stringify({ body: "**PaC** has failed" }),
    });
    expect(note.status).toBe(201);
    expect(gitlab.model.notes.map((n) => n.body)).toEqual(["**PaC** has failed"]);
  });

  it("takes commits and pipelines from another process, as GitLab would make them", async () => {
    const other = "ab".repeat(20);
    const push = (kind: string, body: object) =>
      fetch(`${gitlab.url}/__fake/projects/1001/${kind}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await push("commits", { sha: other, ref: "feature" })).status).toBe(201);
    expect((await push("pipelines", { sha: other, ref: "refs/merge-requests/7/head" })).status).toBe(201);
    expect((await push("commits", { sha: "nope", ref: "x" })).status).toBe(400);
    const job = await commits.editStatus(1001, other, "running", { name: "ctx" });
    expect(job).toMatchObject({ ref: "refs/merge-requests/7/head" });
  });

  it("can go down and come back with its state", async () => {
    await commits.editStatus(1001, sha, "running", { ref: "feature", name: "ctx" });
    await gitlab.down();
    await expect(commits.allStatuses(1001, sha)).rejects.toThrow();
    await gitlab.up();
    expect(await commits.allStatuses(1001, sha)).toHaveLength(1);
  });
});
