import { describe, expect, it } from "vitest";
import type { Repository } from "../../core/repository.ts";
import type { PipelineRun } from "../../core/tekton.ts";
import { GitLabError } from "../client/api.ts";
import { onFirstProject, projectRefused, reportTarget } from "./target.ts";

const settings = {
  gitlabUrl: "",
  allowedHosts: ["gitlab.example"],
  application: "Pipelines as Code CI",
  contextTemplate: "{application} / {pipeline}",
};

function run(annotations: Record<string, string>): PipelineRun {
  return { metadata: { name: "build-1", namespace: "team-a", annotations } };
}

const repository: Repository = {
  metadata: { name: "repo", namespace: "team-a" },
  spec: {
    url: "https://gitlab.example/demo/app",
    git_provider: {
      url: "https://gitlab.example/",
      type: "gitlab",
      secret: { name: "gitlab-token", key: "token" },
    },
  },
};

const pacAnnotations = {
  "pipelinesascode.tekton.dev/sha": "abc123",
  "pipelinesascode.tekton.dev/source-project-id": "1001",
  "pipelinesascode.tekton.dev/target-project-id": "1000",
  "pipelinesascode.tekton.dev/source-branch": "feature/login",
  "pipelinesascode.tekton.dev/original-prname": "build",
  "pipelinesascode.tekton.dev/gitlab-pipeline-id": "77",
};

describe("reportTarget with PaC's global Repository (RepositorySpec.Merge)", () => {
  const global: Repository = {
    metadata: { name: "pipelines-as-code", namespace: "pipelines-as-code" },
    spec: {
      git_provider: { url: "https://gitlab.example", type: "gitlab", secret: { name: "bot", key: "token" } },
    },
  };
  const own = (gitProvider?: NonNullable<Repository["spec"]>["git_provider"]): Repository => ({
    metadata: { name: "repo", namespace: "team-a" },
    spec: { url: "https://gitlab.example/demo/app", git_provider: gitProvider },
  });
  it.each<[string, Repository, object]>([
    [
      "inherits the token Secret, read in the global Repository's namespace, as PaC reads it",
      own({ type: "gitlab" }),
      {
        host: "https://gitlab.example",
        secret: { namespace: "pipelines-as-code", name: "bot", key: "token" },
      },
    ],
    [
      "keeps the Repository's own token, and its own host, when it names them",
      own({ url: "https://gitlab.example", secret: { name: "mine" } }),
      { secret: { namespace: "team-a", name: "mine", key: "provider.token" } },
    ],
    [
      "merges nothing into a Repository without a git_provider (PaC does not either)",
      own(undefined),
      { skip: "no token Secret (Repository spec.git_provider.secret or --gitlab-token-secret)" },
    ],
    [
      "never sends the global Repository's token to a host the tenant chose",
      own({ url: "https://other.example", type: "gitlab" }),
      { refused: "the token of PaC's global Repository goes only to gitlab.example, not other.example" },
    ],
  ])("%s", (_what, repository, expected) => {
    const wide = { ...settings, allowedHosts: ["gitlab.example", "other.example"] };
    expect(reportTarget(run(pacAnnotations), repository, wide, global)).toMatchObject(expected);
  });
});

describe("reportTarget", () => {
  it("reads projects (source, then target), sha, pipeline and context as PaC does, and the token from the Repository", () => {
    expect(reportTarget(run(pacAnnotations), repository, settings)).toEqual({
      host: "https://gitlab.example",
      secret: { namespace: "team-a", name: "gitlab-token", key: "token" },
      projects: ["1001", "1000"],
      sha: "abc123",
      pipelineId: 77,
      context: "Pipelines as Code CI / build",
      application: "Pipelines as Code CI",
    });
  });

  it("prefers the pipeline id tekton-lineage persisted, and falls back to the repository path and defaults", () => {
    const target = reportTarget(
      run({ "pipelinesascode.tekton.dev/sha": "abc", "tekton-lineage.io/gitlab-pipeline-id": "88" }),
      {
        metadata: { name: "r", namespace: "team-a" },
        spec: { url: "https://gitlab.example/group/sub/app.git" },
      },
      {
        ...settings,
        gitlabUrl: "https://gitlab.example",
        tokenSecret: { namespace: "tekton-lineage", name: "gitlab", key: "token" },
        tokenNamespaces: ["team-a"],
      },
    );
    expect(target).toMatchObject({
      host: "https://gitlab.example",
      projects: ["group/sub/app"],
      pipelineId: 88,
      context: "Pipelines as Code CI",
      secret: { namespace: "tekton-lineage", name: "gitlab" },
    });
  });

  it("skips runs of other providers, and says what is missing", () => {
    expect(
      reportTarget(
        run({ ...pacAnnotations, "pipelinesascode.tekton.dev/git-provider": "github" }),
        repository,
        settings,
      ),
    ).toEqual({
      skip: "git provider is github",
    });
    expect(reportTarget(run(pacAnnotations), undefined, settings)).toMatchObject({
      skip: expect.stringMatching(/no GitLab URL/),
    });
  });

  describe("where tokens may go", () => {
    const evil = (secret?: { name: string; key: string }): Repository => ({
      metadata: { name: "repo", namespace: "team-b" },
      spec: { url: "https://evil.example/x/y", git_provider: { url: "https://evil.example", secret } },
    });
    const global = {
      ...settings,
      gitlabUrl: "https://gitlab.example",
      tokenSecret: { namespace: "tekton-lineage", name: "gitlab", key: "token" },
      tokenNamespaces: ["team-a", "team-b"],
    };

    it("uses the global token only for the namespaces an administrator listed, never as a silent fallback", () => {
      const bare: Repository = {
        metadata: { name: "r", namespace: "team-a" },
        spec: { url: "https://gitlab.example/a/b" },
      };
      expect(reportTarget(run(pacAnnotations), bare, global)).toMatchObject({ secret: { name: "gitlab" } });
      const elsewhere = {
        ...run(pacAnnotations),
        metadata: { ...run(pacAnnotations).metadata, namespace: "team-c" },
      };
      expect(
        reportTarget(elsewhere, { ...bare, metadata: { name: "r", namespace: "team-c" } }, global),
      ).toEqual({
        skip: expect.stringMatching(/not granted to namespace team-c \(--gitlab-token-namespaces\)/),
      });
    });

    it.each([
      ["a tenant's host with the tenant's Secret", evil({ name: "any-secret", key: "token" }), global],
      ["a tenant's host with no Secret (the global token would go there)", evil(), global],
      [
        "a host only in the run's repo-url",
        { metadata: { name: "r", namespace: "team-b" } } as Repository,
        {
          ...global,
          gitlabUrl: "",
        },
      ],
    ])("refuses %s and never names a secret for it", (_name, repository, config) => {
      const target = reportTarget(
        run({ ...pacAnnotations, "pipelinesascode.tekton.dev/repo-url": "https://evil.example/x/y" }),
        repository,
        config,
      );
      expect(target).toEqual({ refused: expect.stringMatching(/evil\.example/) });
    });

    it("sends the global token only to --gitlab-url's host, and a Repository's token to listed hosts", () => {
      const other: Repository = {
        metadata: { name: "repo", namespace: "team-a" },
        spec: { git_provider: { url: "https://gitlab.other:8443", secret: { name: "t", key: "token" } } },
      };
      expect(reportTarget(run(pacAnnotations), other, global)).toEqual({
        refused: expect.stringMatching(/gitlab.other:8443/),
      });
      expect(
        reportTarget(run(pacAnnotations), other, { ...global, allowedHosts: ["gitlab.other:8443"] }),
      ).toMatchObject({ host: "https://gitlab.other:8443", secret: { namespace: "team-a", name: "t" } });
      const noSecret: Repository = {
        metadata: { name: "repo", namespace: "team-a" },
        spec: { git_provider: { url: "https://gitlab.other:8443" } },
      };
      expect(
        reportTarget(run(pacAnnotations), noSecret, { ...global, allowedHosts: ["gitlab.other:8443"] }),
      ).toEqual({ refused: expect.stringMatching(/global token/) });
    });
  });
});

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
