import { describe, expect, it } from "vitest";
import type { RunMeta } from "../core/tekton.ts";
import { lineageIdOf, lineageOf } from "./lineage.ts";

const pacRun = (
  overrides: Partial<Record<string, string>> = {},
  labels: Record<string, string> = {},
): RunMeta => ({
  namespace: "team-a",
  generateName: "build-",
  labels,
  annotations: Object.fromEntries(
    Object.entries({
      "pipelinesascode.tekton.dev/repository": "my-repo",
      "pipelinesascode.tekton.dev/sha": "4d6f1f0c2b1e8a7d9c3b5a4f6e8d7c9b1a2f3e4d",
      "pipelinesascode.tekton.dev/original-prname": "build",
      "pipelinesascode.tekton.dev/pull-request": "42",
      "pipelinesascode.tekton.dev/event-type": "pull_request",
      ...overrides,
    }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  ),
});

const rule = { labels: [] };

describe("lineageOf for runs Pipelines-as-Code made", () => {
  it("keys one pipeline on one commit of one merge request", () => {
    const lineage = lineageOf(pacRun(), rule);
    expect(lineage).toMatchObject({
      key: "pac/team-a/my-repo/pull_request/42/4d6f1f0c2b1e8a7d9c3b5a4f6e8d7c9b1a2f3e4d/build",
      source: "pac",
      base: "build",
    });
    expect(lineage.id).toMatch(/^[a-z2-7]{10}$/);
  });

  it("keeps a /retest comment in the same lineage as the merge request event", () => {
    const first = lineageOf(pacRun(), rule);
    for (const eventType of [
      "retest-comment",
      "retest-all-comment",
      "test-comment",
      "ok-to-test-comment",
      "on-comment",
    ]) {
      expect(lineageOf(pacRun({ "pipelinesascode.tekton.dev/event-type": eventType }), rule).id).toBe(
        first.id,
      );
    }
  });

  it("separates another commit, pipeline, merge request, repository, namespace or event kind", () => {
    const first = lineageOf(pacRun(), rule).id;
    const others = [
      pacRun({ "pipelinesascode.tekton.dev/sha": "ffff" }),
      pacRun({ "pipelinesascode.tekton.dev/original-prname": "lint" }),
      pacRun({ "pipelinesascode.tekton.dev/pull-request": "43" }),
      pacRun({ "pipelinesascode.tekton.dev/repository": "other" }),
      { ...pacRun(), namespace: "team-b" },
      pacRun({
        "pipelinesascode.tekton.dev/pull-request": undefined,
        "pipelinesascode.tekton.dev/event-type": "push",
      }),
      pacRun({
        "pipelinesascode.tekton.dev/pull-request": undefined,
        "pipelinesascode.tekton.dev/event-type": "incoming",
      }),
    ].map((subject) => lineageOf(subject, rule).id);
    expect(new Set([first, ...others]).size).toBe(others.length + 1);
  });

  it("reads labels when annotations are missing (older PaC)", () => {
    const subject: RunMeta = {
      namespace: "team-a",
      labels: pacRun().annotations,
      annotations: {},
    };
    expect(lineageOf(subject, rule).key).toBe(lineageOf(pacRun(), rule).key);
  });
});

describe("lineageOf for other runs", () => {
  it("uses namespace, generateName prefix and the chosen labels", () => {
    const subject: RunMeta = {
      namespace: "ci",
      generateName: "nightly-",
      labels: { "tekton.dev/pipeline": "nightly", "git/sha": "abc" },
      annotations: {},
    };
    const lineage = lineageOf(subject, { labels: ["git/sha"] });
    expect(lineage).toMatchObject({ key: "rule/ci/nightly/git/sha=abc", source: "rule", base: "nightly" });
    expect(lineageOf({ ...subject, labels: { "git/sha": "def" } }, { labels: ["git/sha"] }).id).not.toBe(
      lineage.id,
    );
  });

  it("falls back to the name, then to 'run'", () => {
    expect(lineageOf({ namespace: "ci", name: "manual", labels: {}, annotations: {} }, rule).base).toBe(
      "manual",
    );
    expect(lineageOf({ namespace: "ci", labels: {}, annotations: {} }, rule).base).toBe("run");
  });
});

describe("lineageIdOf", () => {
  it("is ten base32 characters, stable for the same key", () => {
    expect(lineageIdOf("a")).toBe(lineageIdOf("a"));
    expect(lineageIdOf("a")).not.toBe(lineageIdOf("b"));
    expect(lineageIdOf("")).toMatch(/^[a-z2-7]{10}$/);
  });
});
