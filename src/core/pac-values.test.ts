import { describe, expect, it } from "vitest";
import { acceptedPacValue } from "./pac-values.ts";
import { pac } from "./vocabulary.ts";

describe("acceptedPacValue", () => {
  it.each([
    ["a GitLab commit sha", pac.sha, "4d6f1f0c2b1e9a7d3c5b8e0f1a2b3c4d5e6f7a8b", true],
    ["a short sha", pac.sha, "4d6f1f0", true],
    ["a sha that is not hex", pac.sha, "not-a-sha", false],
    ["a sha of 200 KiB", pac.sha, "a".repeat(200 * 1024), false],
    ["a project id", pac.sourceProjectId, "1001", true],
    ["a project id that is a path", pac.targetProjectId, "../../groups/1", false],
    ["a merge request number", pac.pullRequest, "42", true],
    ["a repository URL", pac.repoUrl, "https://gitlab.example/demo/repo", true],
    ["a URL of another scheme", pac.repoUrl, "javascript:alert(1)", false],
    ["a URL over 2 KiB", pac.logUrl, `https://x/${"a".repeat(2048)}`, false],
    ["a Repository name", pac.repository, "demo-repo", true],
    ["a pipeline name of 200 KiB", pac.originalPrName, "p".repeat(200 * 1024), false],
    ["a state", pac.state, "started", true],
    ["a state of 1 KiB", pac.state, "s".repeat(1024), false],
    ["PaC's execution order of an event", pac.executionOrder, "ns/a,ns/b", true],
    ["an execution order of 200 KiB", pac.executionOrder, "x".repeat(200 * 1024), false],
  ])("%s: kept %s", (_what, key, value, kept) => {
    expect(acceptedPacValue(key, value)).toBe(kept ? value : undefined);
  });
});
