import { describe, expect, it } from "vitest";
import { parseQueueRules, renderKey } from "../config/queue-rules.ts";
import type { RepositoryView } from "../core/repository.ts";
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

describe("chooseQueue", () => {
  it("queues an opted-in repository's runs under its limit annotation, or spec.concurrency_limit", () => {
    expect(
      chooseQueue(
        pacRun(),
        false,
        repo({ "tekton-lineage.io/queue": "enabled", "tekton-lineage.io/concurrency-limit": "3" }),
        [],
        0,
      ),
    ).toMatchObject({
      queued: true,
      key: "pac/team-a/repo",
      limit: 3,
      source: { kind: "repository", namespace: "team-a", name: "repo" },
      takeOverFromPac: false,
    });
    expect(
      chooseQueue(pacRun(), false, repo({ "tekton-lineage.io/queue": "enabled" }, 2), [], 0),
    ).toMatchObject({ queued: true, limit: 2 });
  });

  it("takes over a run PaC queued, in an opted-in repository", () => {
    expect(
      chooseQueue(pacRun("queued"), true, repo({ "tekton-lineage.io/queue": "enabled" }, 2), [], 0),
    ).toMatchObject({
      queued: true,
      takeOverFromPac: true,
    });
  });

  it("leaves PaC's own queue alone when the repository did not opt in", () => {
    expect(chooseQueue(pacRun("queued"), true, repo({}, 2), [], 0)).toEqual({
      queued: false,
      reason: "queued by Pipelines-as-Code (Repository not opted in)",
    });
    expect(chooseQueue(pacRun(), false, repo({}, 2), [], 0)).toEqual({
      queued: false,
      reason: "no queue applies",
    });
  });

  it("never queues a run its author made Pending", () => {
    expect(
      chooseQueue(pacRun(), true, repo({ "tekton-lineage.io/queue": "enabled" }, 2), [], 0),
    ).toMatchObject({ queued: false });
  });

  it("reads the longest wait from the repository, else the default", () => {
    const r = repo({ "tekton-lineage.io/queue": "enabled", "tekton-lineage.io/max-queue-wait": "10m" }, 1);
    expect(chooseQueue(pacRun(), false, r, [], 5000)).toMatchObject({ maxWaitMs: 600_000 });
    expect(
      chooseQueue(pacRun(), false, repo({ "tekton-lineage.io/queue": "enabled" }, 1), [], 5000),
    ).toMatchObject({ maxWaitMs: 5000 });
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
    expect(chooseQueue(subject, false, undefined, rules, 0)).toMatchObject({
      queued: true,
      key: "ops/prod/deploy",
      limit: 1,
      source: { kind: "rule", name: "deploys" },
    });
    expect(chooseQueue({ ...subject, labels: {} }, false, undefined, rules, 0)).toMatchObject({
      queued: false,
    });
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
