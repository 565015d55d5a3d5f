import { describe, expect, it } from "vitest";
import { GitLabError } from "./api.ts";
import { onFirstProject, projectRefused } from "./projects.ts";

describe("onFirstProject", () => {
  it.each<{ what: string; refused: string[]; worked?: string; expected: string; tried: string[] }>([
    {
      what: "the source project when it works",
      refused: [],
      worked: undefined,
      expected: "source",
      tried: ["source"],
    },
    {
      what: "the target project when the source refuses (a fork)",
      refused: ["source"],
      worked: undefined,
      expected: "target",
      tried: ["source", "target"],
    },
    {
      what: "the project that worked last, first",
      refused: [],
      worked: "target",
      expected: "target",
      tried: ["target"],
    },
  ])("uses $what", async ({ refused, worked, expected, tried }) => {
    const calls: string[] = [];
    const { project } = await onFirstProject(["source", "target"], worked, async (p) => {
      calls.push(p);
      if (refused.includes(p)) throw new GitLabError(403, "403 Forbidden");
      return p;
    });
    expect(project).toBe(expected);
    expect(calls).toEqual(tried);
  });

  it.each<[string, Record<string, string>, { project: string; result: string }, string[]]>([
    [
      "the target project when the fork answers an empty list",
      { source: "none", target: "done" },
      { project: "target", result: "done" },
      ["source", "target"],
    ],
    [
      "the first empty answer when no project has anything",
      { source: "none", target: "none" },
      { project: "source", result: "none" },
      ["source", "target"],
    ],
  ])("moves on to %s", async (_what, answers, expected, tried) => {
    const calls: string[] = [];
    const found = await onFirstProject(
      ["source", "target"],
      undefined,
      async (p) => {
        calls.push(p);
        return answers[p] ?? "";
      },
      (result) => result === "none",
    );
    expect(found).toEqual(expected);
    expect(calls).toEqual(tried);
  });

  it("throws the last refusal, and any other error at once", async () => {
    const refuse = async () => {
      throw new GitLabError(404, "404 Project Not Found");
    };
    await expect(onFirstProject(["a", "b"], undefined, refuse)).rejects.toThrow("404 Project Not Found");
    const calls: string[] = [];
    const failing = onFirstProject(["a", "b"], undefined, async (p) => {
      calls.push(p);
      throw new GitLabError(500, "boom");
    });
    await expect(failing).rejects.toThrow("boom");
    expect(calls).toEqual(["a"]);
  });

  it.each([
    [new GitLabError(404, "404 Pipeline for pipeline_id, sha and ref Not Found"), true],
    [new GitLabError(404, "404 Commit Not Found"), true],
    [new GitLabError(403, "403 Forbidden"), true],
    [new GitLabError(401, "401 Unauthorized"), false],
    [new GitLabError(500, "boom"), false],
    [new Error("x"), false],
  ])("moves on after %s: %s", (error, expected) => {
    expect(projectRefused(error)).toBe(expected);
  });
});
