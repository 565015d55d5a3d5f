import { describe, expect, it } from "vitest";
import type { CachedEvent } from "../kube/event-source.ts";
import { MemoryCache } from "../testing/memory-cache.ts";
import { CreationFailures, pacGenerateName, readCreationFailure } from "./creation-failures.ts";

/** The Event PaC's Run emits when startPR fails (pipelineascode.go), as the API server stores it. */
function pacEvent(
  name: string,
  generateName: string,
  at: string,
  error: string,
  repository = "repo",
): CachedEvent {
  return {
    metadata: { name, namespace: "team-a", resourceVersion: "1" },
    involvedObject: {
      apiVersion: "pipelinesascode.tekton.dev/v1alpha1",
      kind: "Repository",
      name: repository,
      namespace: "team-a",
    },
    reason: "RepositoryPipelineRun",
    message: `There was an error starting the PipelineRun ${generateName}, creating pipelinerun ${generateName} in namespace team-a has failed.\n\nTekton Controller has reported this error: \`\`\`${error}\`\`\` `,
    lastTimestamp: new Date(at),
    source: { component: "Pipelines As Code" },
  };
}

const collision =
  'pipelineruns.tekton.dev "build-x7k2p" already exists, the server was not able to generate a unique name for the object';

describe("readCreationFailure", () => {
  it("reads the generateName and the API server's words from PaC's message", () => {
    expect(readCreationFailure(pacEvent("e1", "build-", "2026-11-22T10:00:05Z", collision))).toEqual({
      kind: "create",
      namespace: "team-a",
      repository: "repo",
      generateName: "build-",
      error: collision,
      at: Date.parse("2026-11-22T10:00:05Z"),
    });
  });

  it.each([
    [
      "its in_progress status could not be posted",
      "cannot use the API on the provider platform to create a in_progress status: POST https://gitlab.example/api/v4/projects/1/statuses/abc: 503",
      "POST https://gitlab.example/api/v4/projects/1/statuses/abc: 503",
    ],
    [
      "the git-auth Secret's owner reference could not be set (before v0.45)",
      'cannot update pipelinerun build- with ownerRef: secrets "pac-gitauth-x" not found',
      'secrets "pac-gitauth-x" not found',
    ],
    [
      "its state could not be patched (v0.37)",
      'cannot patch pipelinerun build-: Operation cannot be fulfilled on pipelineruns.tekton.dev "build-x-1"',
      'Operation cannot be fulfilled on pipelineruns.tekton.dev "build-x-1"',
    ],
  ])("reads a run PaC created and then gave up on: %s", (_why, tail, error) => {
    const event = {
      ...pacEvent("e3", "build-", "2026-11-22T10:00:05Z", collision),
      message: `There was an error starting the PipelineRun build-, ${tail}`,
    };
    expect(readCreationFailure(event)).toMatchObject({ kind: "status", generateName: "build-", error });
  });

  it("ignores PaC's other RepositoryPipelineRun messages and other Events", () => {
    const cancelling = {
      ...pacEvent("e2", "build-", "2026-11-22T10:00:05Z", collision),
      message: "error cancelling in progress pipelineRuns: boom",
    };
    expect(readCreationFailure(cancelling)).toBeUndefined();
    expect(
      readCreationFailure({
        ...pacEvent("e3", "build-", "2026-11-22T10:00:05Z", collision),
        reason: "Other",
      }),
    ).toBeUndefined();
  });
});

describe("CreationFailures", () => {
  const admittedAt = Date.parse("2026-11-22T10:00:00Z");
  const failures = new CreationFailures(
    new MemoryCache([
      pacEvent("old", "build-", "2026-11-22T09:00:00Z", "an hour ago"),
      pacEvent("now", "build-", "2026-11-22T10:00:03Z", collision),
      pacEvent("other-pipeline", "test-", "2026-11-22T10:00:03Z", "not this one"),
      pacEvent("other-repo", "build-", "2026-11-22T10:00:03Z", "not this one", "other"),
    ]),
  );

  it.each([
    ["the failure right after the admission", "build", admittedAt, collision],
    ["nothing for a pipeline PaC did not fail to create", "deploy", admittedAt, undefined],
    ["nothing long before or after", "build", admittedAt + 3_600_000, undefined],
  ])("finds %s", (_name, pipeline, at, error) => {
    expect(failures.find({ namespace: "team-a", repository: "repo", pipeline, admittedAt: at })?.error).toBe(
      error,
    );
  });

  it("never takes a failure that names another run for this attempt's, however close in time", () => {
    const cache = new MemoryCache<CachedEvent>([
      pacEvent(
        "mine",
        "build-",
        "2026-11-22T10:00:05Z",
        'pipelineruns.tekton.dev "build-aaaaaaaaaa-1" already exists',
      ),
      pacEvent(
        "theirs",
        "build-",
        "2026-11-22T10:00:05Z",
        'pipelineruns.tekton.dev "build-bbbbbbbbbb-1" already exists',
      ),
    ]);
    const failures = new CreationFailures(cache);
    const query = {
      namespace: "team-a",
      repository: "repo",
      pipeline: "build",
      admittedAt: Date.parse("2026-11-22T10:00:05Z"),
    };
    expect(failures.find({ ...query, name: "build-aaaaaaaaaa-1" })?.error).toContain("build-aaaaaaaaaa-1");
    expect(failures.find({ ...query, name: "build-bbbbbbbbbb-1" })?.error).toContain("build-bbbbbbbbbb-1");
    expect(failures.find({ ...query, name: "build-cccccccccc-1" })).toBeUndefined();
  });

  it("knows the generateName PaC gives a template, named or generate-named", () => {
    expect(pacGenerateName("build")).toBe("build-");
    expect(pacGenerateName("build-")).toBe("build-");
  });
});
