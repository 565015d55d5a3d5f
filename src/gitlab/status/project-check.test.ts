import { describe, expect, it } from "vitest";
import { pipelineRun } from "../../testing/runs.ts";
import { GitLabError } from "../client/api.ts";
import { annotatedProjects, checkProjects, ProjectCheck, type ProjectVerdict } from "./project-check.ts";

describe("checkProjects", () => {
  it.each<[string, Parameters<typeof checkProjects>, ProjectVerdict]>([
    [
      "the Repository's own project (a merge request from a branch, or a push)",
      [{ source: "10", target: "10", mergeRequest: 7 }, 10],
      { projects: ["10"] },
    ],
    ["no ids on the run: the Repository's project", [{}, 10], { projects: ["10"] }],
    [
      "a fork GitLab names as the merge request's source: source, then the Repository's",
      [{ source: "20", target: "10", mergeRequest: 7 }, 10, 20],
      { projects: ["20", "10"] },
    ],
    [
      "another team's project as target",
      [{ source: "99", target: "99", mergeRequest: 7 }, 10],
      { refused: "the run names project 99, but its Repository's project is 10" },
    ],
    [
      "a source the merge request does not come from",
      [{ source: "30", target: "10", mergeRequest: 7 }, 10, 20],
      { refused: "merge request !7 of project 10 comes from project 20, not 30" },
    ],
    [
      "a foreign source without a merge request",
      [{ source: "30" }, 10],
      { refused: "the run names source project 30, not its Repository's 10, and no merge request" },
    ],
    [
      "a merge request GitLab does not know",
      [{ source: "30", mergeRequest: 7 }, 10, undefined],
      { refused: "merge request !7 of project 10 was not found" },
    ],
  ])("%s", (_what, args, verdict) => expect(checkProjects(...args)).toEqual(verdict));

  it("reads ids only when they are numbers", () => {
    const run = pipelineRun({
      name: "x",
      annotations: {
        "pipelinesascode.tekton.dev/source-project-id": "12",
        "pipelinesascode.tekton.dev/target-project-id": "../1",
        "pipelinesascode.tekton.dev/pull-request": "7",
      },
    });
    expect(annotatedProjects(run)).toEqual({ source: "12", target: undefined, mergeRequest: 7 });
  });
});

describe("ProjectCheck", () => {
  const repository = {
    metadata: { name: "r", namespace: "ns" },
    spec: { url: "https://gitlab.example/demo/app" },
  };
  const run = pipelineRun({
    name: "x",
    annotations: { "pipelinesascode.tekton.dev/source-project-id": "10" },
  });
  it("asks GitLab a project's id once, and refuses a Repository whose project GitLab does not know", async () => {
    const asked: string[] = [];
    const api = {
      postStatus: async () => {
        throw new Error("unused");
      },
      statuses: async () => [],
      projectId: async (path: string) => {
        asked.push(path);
        if (path === "gone/app") throw new GitLabError(404, "404 Project Not Found");
        return 10;
      },
      mergeRequestSource: async () => 0,
    };
    const check = new ProjectCheck(() => 0);
    expect(await check.check(api, "h", repository, run)).toEqual({ projects: ["10"] });
    expect(await check.check(api, "h", repository, run)).toEqual({ projects: ["10"] });
    expect(asked).toEqual(["demo/app"]);
    const gone = { ...repository, spec: { url: "https://gitlab.example/gone/app" } };
    expect(await check.check(api, "h", gone, run)).toEqual({
      refused: "the Repository's project gone/app is not known to GitLab (404)",
    });
    expect(await check.check(api, "h", undefined, run)).toEqual({
      refused: "no Repository with a spec.url to check the run's project against",
    });
  });

  it("asks once for lineages of one Repository checked at the same time, and again after a failure", async () => {
    let asked = 0;
    let answer: (id: number) => void = () => {};
    let fail = true;
    const api = {
      postStatus: async () => {
        throw new Error("unused");
      },
      statuses: async () => [],
      projectId: (_path: string) => {
        asked++;
        if (fail) return Promise.reject(new GitLabError(502, "Bad Gateway"));
        return new Promise<number>((resolve) => {
          answer = resolve;
        });
      },
      mergeRequestSource: async () => 0,
    };
    const check = new ProjectCheck(() => 0);
    await expect(check.check(api, "h", repository, run)).rejects.toThrow("Bad Gateway");
    fail = false;
    const checks = Array.from({ length: 8 }, () => check.check(api, "h", repository, run));
    answer(10);
    for (const verdict of await Promise.all(checks)) expect(verdict).toEqual({ projects: ["10"] });
    expect(asked).toBe(2);
  });
});
