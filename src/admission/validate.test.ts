import { describe, expect, it } from "vitest";
import { signClaims } from "../lineage/claims.ts";
import { fixture } from "../testing/fixtures.ts";
import { testKey } from "../testing/keys.ts";
import { runMetaOf } from "./pipelinerun-request.ts";
import type { AdmissionRequest, AdmissionReview } from "./types.ts";
import { changedOwnedKeys, decideValidation, type ValidateDependencies } from "./validate.ts";

const key = testKey("9");
const now = new Date("2026-11-22T10:00:00Z");
const deps: ValidateDependencies = {
  keys: { current: () => key, all: () => [key] },
  isTrusted: (user) => user === "system:serviceaccount:tekton-lineage:tekton-lineage",
  claimMaxAgeMs: 120_000,
  now: () => now,
};
const update = fixture<AdmissionReview>(import.meta.url, "update-labels.json").request;
const create = fixture<AdmissionReview>(import.meta.url, "create-generate-name.json").request;

function claimed(attempt: string): Record<string, unknown> {
  const object = structuredClone(update.oldObject) as { metadata: Record<string, unknown> };
  object.metadata.labels = {
    "tekton-lineage.io/attempt": attempt,
    "tekton-lineage.io/lineage-id": "abcdefghij",
  };
  object.metadata.annotations = {
    "tekton-lineage.io/attempt": attempt,
    "tekton-lineage.io/lineage-id": "abcdefghij",
    "tekton-lineage.io/admitted-at": "2026-11-22T09:59:59Z",
  };
  const annotations = object.metadata.annotations as Record<string, string>;
  annotations["tekton-lineage.io/signature"] = signClaims(key, runMetaOf(object, "team-a"));
  return object;
}

describe("decideValidation on CREATE", () => {
  it("allows runs without tekton-lineage keys and runs with valid signed claims", () => {
    expect(decideValidation(create, deps)).toEqual({ allowed: true });
    const signed = claimed("2");
    expect(decideValidation({ ...create, object: signed }, deps)).toEqual({ allowed: true });
  });

  it("refuses a user-set attempt (impersonating an earlier run) with 403", () => {
    const object = structuredClone(create.object) as { metadata: { labels: Record<string, string> } };
    object.metadata.labels["tekton-lineage.io/attempt"] = "1";
    const decision = decideValidation({ ...create, object }, deps);
    expect(decision).toMatchObject({ allowed: false, code: 403, reason: "Forbidden" });
  });

  it("refuses a forged queue claim", () => {
    const object = structuredClone(create.object) as { metadata: { annotations: Record<string, string> } };
    object.metadata.annotations["tekton-lineage.io/queue-slot"] = "0";
    expect(decideValidation({ ...create, object }, deps)).toMatchObject({ allowed: false, code: 403 });
  });
});

describe("decideValidation on UPDATE", () => {
  /** alice (or another user) edits a claimed run, setting its attempt to `attempt`. */
  const edit = (attempt: string, username = "alice"): AdmissionRequest => ({
    ...update,
    userInfo: { username },
    oldObject: claimed("2"),
    object: claimed(attempt),
  });

  it("refuses a change to tekton-lineage keys by anyone but tekton-lineage, naming the keys and the fix", () => {
    const decision = decideValidation(edit("1"), deps);
    expect(decision).toMatchObject({ allowed: false, code: 403 });
    expect(!decision.allowed && decision.message).toMatch(
      /change to PipelineRun team-a\/build-x7k2m by alice refused: annotation tekton-lineage.io\/attempt, annotation tekton-lineage.io\/signature, label tekton-lineage.io\/attempt/,
    );
    expect(!decision.allowed && decision.message).toMatch(/create a new PipelineRun/);
  });

  it("lets tekton-lineage's own service account change them", () => {
    expect(decideValidation(edit("1", "system:serviceaccount:tekton-lineage:tekton-lineage"), deps)).toEqual({
      allowed: true,
    });
  });

  it("allows any other edit, and removing a key counts as a change", () => {
    expect(decideValidation(update, deps)).toEqual({ allowed: true });
    const old = claimed("2");
    const stripped = structuredClone(old) as { metadata: { annotations: Record<string, string> } };
    delete stripped.metadata.annotations["tekton-lineage.io/attempt"];
    expect(changedOwnedKeys(old, stripped)).toEqual(["annotation tekton-lineage.io/attempt"]);
  });

  it("keeps the routing labels too: a moved bucket would hide the run from its queue's owner", () => {
    const labelled = (labels: Record<string, string>) => ({
      metadata: { name: "r", namespace: "team-a", labels },
    });
    const before = labelled({ "tekton-lineage.io/bucket": "3-of-16" });
    expect(changedOwnedKeys(before, labelled({ "tekton-lineage.io/bucket": "4-of-16" }))).toEqual([
      "label tekton-lineage.io/bucket",
    ]);
    expect(
      changedOwnedKeys(
        before,
        labelled({ ...before.metadata.labels, "tekton-lineage.io/queue-scope": "cluster" }),
      ),
    ).toEqual(["label tekton-lineage.io/queue-scope"]);
  });
});

describe("starting a queued run", () => {
  const waiting = (status?: string) => ({
    metadata: {
      name: "build-x",
      namespace: "team-a",
      annotations: {
        "tekton-lineage.io/pending-by-queue": "true",
        "tekton-lineage.io/queue": "pac/team-a/repo",
      },
    },
    spec: status === undefined ? {} : { status },
  });
  const start = (username: string, to?: string): AdmissionRequest => ({
    ...update,
    userInfo: { username },
    oldObject: waiting("PipelineRunPending"),
    object: waiting(to),
  });

  it("is refused to anyone but tekton-lineage, with the way out", () => {
    const decision = decideValidation(start("alice"), deps);
    expect(decision).toMatchObject({ allowed: false, code: 403 });
    expect(!decision.allowed && decision.message).toMatch(
      /waits in queue pac\/team-a\/repo.*set spec.status to Cancelled/,
    );
    expect(decideValidation(start("system:serviceaccount:tekton-lineage:tekton-lineage"), deps)).toEqual({
      allowed: true,
    });
  });

  it("allows cancelling it", () => {
    expect(decideValidation(start("alice", "Cancelled"), deps)).toEqual({ allowed: true });
  });
});
