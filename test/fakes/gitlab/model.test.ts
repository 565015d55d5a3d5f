import { describe, expect, it } from "vitest";
import { compositeStatus } from "./composite.ts";
import { GitLabModel, type Job } from "./model.ts";

const sha = "4d6f1f0c2b1e8a7d9c3b5a4f6e8d7c9b1a2f3e4d";
const mrRef = "refs/merge-requests/7/head";

function model() {
  const m = new GitLabModel(() => new Date("2026-11-22T10:00:00Z"));
  m.addProject(1001, "demo/app");
  m.addCommit(1001, sha, "feature");
  m.addToken("good", "bot");
  m.addToken("pac", "bot");
  m.addToken("someone", "someone-else");
  m.addToken("other", "stranger", [2002]);
  return m;
}

const post = (m: GitLabModel, params: Record<string, unknown>, token = "good") =>
  m.postStatus(token, "1001", sha, { name: "CI / build", ...params });
const jobOf = (result: { body: unknown }) => result.body as Job;

describe("GitLabModel", () => {
  it("updates a pending or running job in place and refuses re-posting the same state", () => {
    const m = model();
    expect(post(m, { state: "pending" }).status).toBe(201);
    expect(post(m, { state: "pending" })).toEqual({
      status: 400,
      body: { message: "Cannot transition status via :enqueue from :pending" },
    });
    expect(post(m, { state: "running", target_url: "https://c/1" }).status).toBe(201);
    expect(post(m, { state: "running", target_url: "https://c/2" })).toEqual({
      status: 400,
      body: { message: "Cannot transition status via :run from :running" },
    });
    expect(post(m, { state: "pending" }).body).toEqual({
      message: "Cannot transition status via :enqueue from :running",
    });
    const [job] = m.listStatuses("good", "1001", sha, {}).body as Job[];
    expect(job).toMatchObject({ status: "running", target_url: "https://c/1" });
    expect(m.jobs).toHaveLength(1);
  });

  it("keeps a job's old description and link when a post leaves them blank (attributes_for_keys)", () => {
    const m = model();
    post(m, { state: "pending", description: "attempt 3 queued, 2 in line", target_url: "https://c/3" });
    expect(jobOf(post(m, { state: "running", description: "", target_url: " " }))).toMatchObject({
      status: "running",
      description: "attempt 3 queued, 2 in line",
      target_url: "https://c/3",
    });
  });

  it("starts a new job after a finished one and marks the old one retried", () => {
    const m = model();
    post(m, { state: "failed", description: "failed" });
    post(m, { state: "running", description: "attempt 2" });
    const visible = m.listStatuses("good", "1001", sha, {}).body as Job[];
    expect(visible.map((j) => j.status)).toEqual(["running"]);
    const all = m.listStatuses("good", "1001", sha, { all: true }).body as Job[];
    expect(all.map((j) => [j.status, j.retried])).toEqual([
      ["failed", true],
      ["running", false],
    ]);
  });

  it("updates only the open job of the same user: another user's POST starts its own job", () => {
    const m = model();
    post(m, { state: "running", description: "mine" });
    // Two tokens of one user (PaC and tekton-lineage sharing the Repository's token) share the open job.
    expect(post(m, { state: "success", description: "by pac" }, "pac").status).toBe(201);
    expect(m.jobs).toHaveLength(1);
    post(m, { state: "running", description: "again" });
    const theirs = jobOf(post(m, { state: "failed", description: "by someone" }, "someone"));
    expect(m.jobs).toHaveLength(3);
    expect(theirs.author.username).toBe("someone-else");
    expect(m.jobs.filter((j) => !j.retried).map((j) => j.description)).toEqual(["by someone"]);
  });

  it("updates a retried open job (GitLab's scope does not exclude them) and retires the latest", () => {
    const m = model();
    const mine = jobOf(post(m, { state: "running", description: "attempt 2 running" }));
    post(m, { state: "failed", description: "failed" }, "someone");
    expect(m.jobs.find((j) => j.id === mine.id)?.retried).toBe(true);
    // The bot's POST finds its own open job although it is retried, and the other user's job is retired.
    const updated = jobOf(post(m, { state: "canceled", description: "stopped" }));
    expect(updated.id).toBe(mine.id);
    expect(m.jobs.map((j) => [j.author.username, j.status, j.retried])).toEqual([
      ["bot", "canceled", true],
      ["someone-else", "failed", true],
    ]);
    expect(m.pipelinesOf("1001", sha)[0]?.status).toBeUndefined();
  });

  it("refuses fields over 255 characters with the field named", () => {
    const m = model();
    expect(post(m, { state: "pending", description: "x".repeat(256) })).toEqual({
      status: 400,
      body: { message: { description: ["is too long (maximum is 255 characters)"] } },
    });
    expect(post(m, { state: "pending", description: "é".repeat(255) }).status).toBe(201);
  });

  it("answers 401 for a bad token, 403 for a project the token cannot reach, 404 for an unknown project or commit", () => {
    const m = model();
    expect(post(m, { state: "pending" }, "bad").status).toBe(401);
    expect(post(m, { state: "pending" }, "other").status).toBe(403);
    expect(m.postStatus("good", "9999", sha, { state: "pending" }).status).toBe(404);
    expect(m.postStatus("good", "1001", "ab".repeat(20), { state: "pending" }).body).toEqual({
      message: "404 Commit Not Found",
    });
    expect(m.postStatus("good", "demo%2Fapp", sha, { state: "pending", name: "x" }).status).toBe(201);
  });

  it.each([
    {
      what: "no ref, no pipeline: the newest pipeline of the commit, with its ref",
      params: {},
      expected: { status: 201, ref: mrRef, pipeline: "mr" },
    },
    {
      what: "the pipeline's id and no ref",
      params: { pipeline_id: "mr" },
      expected: { status: 201, ref: mrRef, pipeline: "mr" },
    },
    {
      what: "the pipeline's id with a ref that is not the pipeline's: 404",
      params: { pipeline_id: "mr", ref: "feature" },
      expected: { status: 404, message: "404 Pipeline for pipeline_id, sha and ref Not Found" },
    },
    {
      what: "a pipeline id of another commit: 404",
      params: { pipeline_id: "other" },
      expected: { status: 404, message: "404 Pipeline for pipeline_id, sha and ref Not Found" },
    },
    {
      what: "a ref and no pipeline id: a pipeline of that ref, made for it",
      params: { ref: "feature" },
      expected: { status: 201, ref: "feature", pipeline: "new" },
    },
  ])("addresses a pipeline like GitLab: $what", ({ params, expected }) => {
    const m = model();
    const ids: Record<string, number> = {
      mr: m.addPipeline(1001, sha, mrRef),
      other: m.addPipeline(1001, "cd".repeat(20), "feature"),
    };
    const pipelineId = params.pipeline_id ? ids[params.pipeline_id] : undefined;
    const result = post(m, { state: "running", ref: params.ref, pipeline_id: pipelineId });
    expect(result.status).toBe(expected.status);
    if (expected.message) return expect(result.body).toEqual({ message: expected.message });
    const job = jobOf(result);
    expect(job.ref).toBe(expected.ref);
    if (expected.pipeline === "new") expect(Object.values(ids)).not.toContain(job.pipeline_id);
    else expect(job.pipeline_id).toBe(ids[expected.pipeline ?? ""]);
  });

  it("takes a branch containing the commit when it has no pipeline yet", () => {
    const m = model();
    const job = jobOf(post(m, { state: "running" }));
    expect(job.ref).toBe("feature");
    expect(m.pipelines.map((p) => [p.ref, p.source])).toEqual([["feature", "external"]]);
  });

  it("shows each pipeline's composite status from its latest jobs", () => {
    const m = model();
    const mr = m.addPipeline(1001, sha, mrRef);
    post(m, { state: "failed", name: "PaC", pipeline_id: mr }, "someone");
    post(m, { state: "success", name: "PaC / build", pipeline_id: mr });
    expect(m.pipelinesOf("1001", sha).map((p) => p.status)).toEqual(["failed"]);
    post(m, { state: "success", name: "PaC", pipeline_id: mr });
    expect(m.pipelinesOf("1001", sha).map((p) => p.status)).toEqual(["success"]);
    expect(m.getPipeline("good", "1001", mr).body).toMatchObject({ id: mr, ref: mrRef, status: "success" });
  });

  it("keeps merge request notes", () => {
    const m = model();
    expect(m.addNote("good", "1001", 7, "**PaC** has failed").status).toBe(201);
    expect(m.addNote("good", "1001", 7, "").status).toBe(400);
    expect(m.notes.map((n) => [n.merge_request_iid, n.author.username])).toEqual([[7, "bot"]]);
  });
});

describe("compositeStatus (lib/gitlab/ci/status/composite.rb)", () => {
  it.each([
    [[], undefined],
    [["success"], "success"],
    [["success", "skipped"], "success"],
    [["skipped"], "skipped"],
    [["success", "failed"], "failed"],
    [["running", "failed"], "running"],
    [["pending", "success"], "running"],
    [["pending", "created"], "pending"],
    [["canceled", "success"], "canceled"],
    [["canceled", "failed"], "failed"],
    [["created", "failed"], "running"],
  ])("%j → %s", (statuses, expected) => {
    expect(compositeStatus(statuses)).toBe(expected);
  });
});
