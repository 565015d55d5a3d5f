import { describe, expect, it } from "vitest";
import { GitLabModel } from "./model.ts";

const sha = "4d6f1f0c2b1e8a7d9c3b5a4f6e8d7c9b1a2f3e4d";

function model() {
  const m = new GitLabModel(() => new Date("2026-11-22T10:00:00Z"));
  m.addProject(1001, "demo/app");
  m.addToken("good", "bot");
  m.addToken("other", "stranger", [2002]);
  return m;
}

const post = (m: GitLabModel, params: Record<string, unknown>, token = "good") =>
  m.postStatus(token, "1001", sha, { name: "CI / build", ref: "feature", ...params });

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
    const [job] = m.listStatuses("good", "1001", sha, {}).body as { target_url: string; status: string }[];
    expect(job).toMatchObject({ status: "running", target_url: "https://c/1" });
    expect(m.jobs).toHaveLength(1);
  });

  it("starts a new job after a finished one and marks the old one retried", () => {
    const m = model();
    post(m, { state: "failed", description: "failed" });
    post(m, { state: "running", description: "attempt 2" });
    const visible = m.listStatuses("good", "1001", sha, {}).body as { status: string }[];
    expect(visible.map((j) => j.status)).toEqual(["running"]);
    const all = m.listStatuses("good", "1001", sha, { all: true }).body as {
      status: string;
      retried: boolean;
    }[];
    expect(all.map((j) => [j.status, j.retried])).toEqual([
      ["failed", true],
      ["running", false],
    ]);
  });

  it("refuses fields over 255 characters with the field named", () => {
    const m = model();
    expect(post(m, { state: "pending", description: "x".repeat(256) })).toEqual({
      status: 400,
      body: { message: { description: ["is too long (maximum is 255 characters)"] } },
    });
    expect(post(m, { state: "pending", description: "é".repeat(255) }).status).toBe(201);
  });

  it("answers 401 for a bad token, 403 for a project the token cannot reach, 404 for an unknown project", () => {
    const m = model();
    expect(post(m, { state: "pending" }, "bad").status).toBe(401);
    expect(post(m, { state: "pending" }, "other").status).toBe(403);
    expect(m.postStatus("good", "9999", sha, { state: "pending" }).status).toBe(404);
    expect(m.postStatus("good", "demo%2Fapp", sha, { state: "pending", name: "x" }).status).toBe(201);
  });

  it("attaches to the given pipeline, or to the newest of the commit and ref", () => {
    const m = model();
    const mr = m.addPipeline(1001, sha, "refs/merge-requests/7/head");
    expect((post(m, { state: "running", pipeline_id: mr }).body as { pipeline_id: number }).pipeline_id).toBe(
      mr,
    );
    // Without pipeline_id, a status for another ref lands in another pipeline.
    const elsewhere = post(m, { state: "running", name: "other" }).body as { pipeline_id: number };
    expect(elsewhere.pipeline_id).not.toBe(mr);
    expect(post(m, { state: "running", pipeline_id: 424242 }).status).toBe(400);
  });
});
