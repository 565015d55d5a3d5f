import { describe, expect, it } from "vitest";
import { parseQueueRules, renderKey } from "../config/queue-rules.ts";
import { type PacLimit, pacLimitOf, type RepositoryView } from "../core/repository.ts";
import type { RunMeta } from "../core/tekton.ts";
import { chooseQueue } from "./choose.ts";

const pacRun = (state = "started"): RunMeta => ({
  namespace: "team-a",
  generateName: "build-",
  labels: { "pipelinesascode.tekton.dev/repository": "repo", "pipelinesascode.tekton.dev/state": state },
  annotations: {
    "pipelinesascode.tekton.dev/repository": "repo",
    "pipelinesascode.tekton.dev/original-prname": "build",
  },
});
const repo = (annotations: Record<string, string>, concurrencyLimit?: number): RepositoryView => ({
  namespace: "team-a",
  name: "repo",
  concurrencyLimit,
  annotations,
});

const optedIn = (extra: Record<string, string> = {}) => ({
  "tekton-lineage.io/queue": "enabled",
  "tekton-lineage.io/concurrency-limit": "3",
  ...extra,
});

describe("chooseQueue", () => {
  it.each<{
    what: string;
    repository: RepositoryView;
    pacLimit?: PacLimit;
    pending?: boolean;
    expected: object;
  }>([
    {
      what: "queues an opted-in repository's runs under its tekton-lineage.io/concurrency-limit",
      repository: repo(optedIn()),
      expected: {
        queued: true,
        key: "pac/team-a/repo",
        limit: 3,
        source: { kind: "repository", namespace: "team-a", name: "repo" },
      },
    },
    {
      what: "refuses an opt-in loudly when PaC enforces the repository's own limit",
      repository: repo(optedIn(), 2),
      pacLimit: { limit: 2, from: "repository" },
      expected: {
        queued: false,
        conflict: expect.stringMatching(
          /queues its runs itself by its spec.concurrency_limit \(2\); remove spec.concurrency_limit and set tekton-lineage.io\/concurrency-limit$/,
        ),
      },
    },
    {
      what: "refuses an opt-in loudly when PaC enforces a limit inherited from the global Repository",
      repository: repo(optedIn()),
      pacLimit: { limit: 5, from: "global" },
      expected: {
        queued: false,
        conflict: expect.stringMatching(
          /global Repository's concurrency_limit \(5\).*spec.concurrency_limit: 0/,
        ),
      },
    },
    {
      what: "leaves a repository PaC queues itself to PaC",
      repository: repo({}, 2),
      pacLimit: { limit: 2, from: "repository" },
      pending: true,
      expected: { queued: false, reason: "queued by Pipelines-as-Code (concurrency_limit 2)" },
    },
    {
      what: "queues nothing of a repository that did not opt in",
      repository: repo({}),
      expected: { queued: false, reason: "no queue applies" },
    },
    {
      what: "needs tekton-lineage's own limit: spec.concurrency_limit is PaC's",
      repository: repo({ "tekton-lineage.io/queue": "enabled" }),
      expected: { queued: false, reason: "Repository repo sets no tekton-lineage.io/concurrency-limit" },
    },
    {
      what: "never queues a run its author made Pending",
      repository: repo(optedIn()),
      pending: true,
      expected: { queued: false, reason: "the run was created Pending by its author" },
    },
    {
      what: "reads the longest wait from the repository",
      repository: repo(optedIn({ "tekton-lineage.io/max-queue-wait": "10m" })),
      expected: { queued: true, maxWaitMs: 600_000 },
    },
    {
      what: "else the default longest wait",
      repository: repo(optedIn()),
      expected: { queued: true, maxWaitMs: 5000 },
    },
  ])("$what", ({ repository, pacLimit, pending, expected }) => {
    expect(chooseQueue(pacRun(), pending ?? false, repository, pacLimit, [], 5000)).toMatchObject(expected);
  });

  it("falls back to the first matching rule", () => {
    const rules = parseQueueRules(
      '[{"name":"deploys","selector":{"tekton.dev/pipeline":"deploy"},"key":"{namespace}/{label:env}/deploy","limit":1}]',
    );
    const subject: RunMeta = {
      namespace: "ops",
      generateName: "deploy-",
      labels: { "tekton.dev/pipeline": "deploy", env: "prod" },
      annotations: {},
    };
    expect(chooseQueue(subject, false, undefined, undefined, rules, 0)).toMatchObject({
      queued: true,
      key: "ops/prod/deploy",
      limit: 1,
      source: { kind: "rule", name: "deploys" },
    });
    expect(chooseQueue({ ...subject, labels: {} }, false, undefined, undefined, rules, 0)).toMatchObject({
      queued: false,
    });
  });

  it("never lets a rule's key pass for a Repository's queue, whose key names its namespace's bucket", () => {
    const rules = parseQueueRules('[{"name":"by-label","key":"{label:queue}","limit":1}]');
    const subject: RunMeta = {
      namespace: "tenant",
      generateName: "x-",
      labels: { queue: "pac/victim/repo" },
      annotations: {},
    };
    expect(chooseQueue(subject, false, undefined, undefined, rules, 0)).toMatchObject({
      queued: true,
      key: "rule/pac/victim/repo",
    });
  });
});

describe("pacLimitOf (RepositorySpec.Merge)", () => {
  it.each<[string, number | undefined, number | undefined, PacLimit | undefined]>([
    ["the repository's own limit", 2, 5, { limit: 2, from: "repository" }],
    ["the global limit, inherited", undefined, 5, { limit: 5, from: "global" }],
    ["none for an explicit 0, which shields from the global limit", 0, 5, undefined],
    ["none at all", undefined, undefined, undefined],
  ])("%s", (_what, own, global, expected) => {
    expect(pacLimitOf(repo({}, own), global === undefined ? undefined : repo({}, global))).toEqual(expected);
  });
});

describe("parseQueueRules", () => {
  it("accepts an empty setting and refuses malformed rules with a reason", () => {
    expect(parseQueueRules("")).toEqual([]);
    expect(() => parseQueueRules("{")).toThrow(/JSON array/);
    expect(() => parseQueueRules('[{"name":"x","key":"k"}]')).toThrow(/limit/);
    expect(() => parseQueueRules('[{"name":"x","key":"{nope}","limit":1}]')).toThrow(
      /unknown placeholder \{nope\}/,
    );
  });

  it("renders key templates", () => {
    expect(
      renderKey(
        "{namespace}/{pipeline}/{annotation:a}",
        { namespace: "n", labels: {}, annotations: { a: "x" } },
        "p",
      ),
    ).toBe("n/p/x");
  });
});
