import { describe, expect, it } from "vitest";
import type { RunMeta } from "../core/tekton.ts";
import { signatureKey } from "../core/vocabulary.ts";
import { testKey } from "../testing/keys.ts";
import {
  checkClaims,
  claimsGenuine,
  learnSigner,
  signatureKeyId,
  signatureMatches,
  signClaims,
} from "./claims.ts";
import { lineageIdOf } from "./lineage.ts";

const key = testKey("k");
const otherKey = testKey("o");
const now = new Date("2026-11-22T10:00:00Z");
const id = lineageIdOf("pac/team-a/repo/pull_request/1/abc/build");

function signed(overrides: Partial<RunMeta> = {}, signWith = key): RunMeta {
  const subject: RunMeta = {
    namespace: "team-a",
    name: `build-${id}-2`,
    labels: { "tekton-lineage.io/lineage-id": id, "tekton-lineage.io/attempt": "2", team: "a" },
    annotations: {
      "tekton-lineage.io/lineage": "pac/team-a/repo/pull_request/1/abc/build",
      "tekton-lineage.io/lineage-id": id,
      "tekton-lineage.io/attempt": "2",
      "tekton-lineage.io/supersedes": `build-${id}-1`,
      "tekton-lineage.io/admitted-at": "2026-11-22T09:59:59.500Z",
      "tekton-lineage.io/admitted-by": "tekton-lineage-7d9f-abcde",
      "pipelinesascode.tekton.dev/sha": "abc",
    },
    ...overrides,
  };
  subject.annotations = { ...subject.annotations, [signatureKey]: signClaims(signWith, subject) };
  return subject;
}

const check = (subject: RunMeta) => checkClaims(subject, [key], now, 120_000);

describe("checkClaims", () => {
  it("finds nothing to check on an object without tekton-lineage keys", () => {
    expect(check({ namespace: "a", name: "b", labels: { team: "a" }, annotations: { x: "y" } })).toEqual({
      state: "absent",
    });
  });

  it("accepts claims the webhook signed for this object (a re-invocation)", () => {
    expect(check(signed())).toEqual({ state: "valid" });
    expect(checkClaims(signed(), [otherKey, key], now, 120_000)).toEqual({ state: "valid" });
  });

  it("refuses a hand-written attempt with 403 material and says how to fix it", () => {
    const forged: RunMeta = {
      namespace: "team-a",
      name: "",
      labels: {},
      annotations: { "tekton-lineage.io/attempt": "1" },
    };
    const result = check(forged);
    expect(result.state).toBe("forged");
    expect(result.state === "forged" && result.detail).toMatch(
      /tekton-lineage.io\/attempt not set by tekton-lineage/,
    );
    expect(result.state === "forged" && result.detail).toMatch(/remove them from the object you create/);
  });

  it("refuses claims edited after signing, or signed with another key", () => {
    const edited = signed();
    edited.annotations["tekton-lineage.io/attempt"] = "1";
    edited.labels["tekton-lineage.io/attempt"] = "1";
    expect(check(edited).state).toBe("forged");
    expect(check(signed({}, otherKey)).state).toBe("forged");
    const renamed = signed();
    renamed.name = "something-else";
    expect(check(renamed).state).toBe("forged");
  });

  it("refuses a copy of an old run (replayed claims)", () => {
    const old = signed({
      annotations: { ...signed().annotations, "tekton-lineage.io/admitted-at": "2026-11-20T10:00:00Z" },
    });
    const result = check(old);
    expect(result.state).toBe("forged");
    expect(result.state === "forged" && result.detail).toMatch(/replayed/);
  });

  it("refuses reconciler-owned keys at creation", () => {
    const claim = signed({
      annotations: { ...signed().annotations, "tekton-lineage.io/queue-position": "1" },
    });
    const result = check(claim);
    expect(result.state === "forged" && result.detail).toMatch(
      /queue-position is written by tekton-lineage after admission/,
    );
  });

  it.each([
    [{ "tekton-lineage.io/attempt": "one" }, /attempt must be a positive whole number/],
    [{ "tekton-lineage.io/attempt": "0" }, /attempt must be a positive whole number/],
    [{ "tekton-lineage.io/lineage-id": "UPPER" }, /lineage-id must be 10 characters/],
    [{ "tekton-lineage.io/admitted-at": "yesterday" }, /admitted-at must be an RFC 3339 time/],
    [{ "tekton-lineage.io/queue-ticket": "-3" }, /queue-ticket must be a positive whole number/],
    [
      { "tekton-lineage.io/priority": "high" },
      /unknown tekton-lineage annotation tekton-lineage.io\/priority/,
    ],
  ])("reports malformed values (%j) as 422 material", (annotations, message) => {
    const result = check({ namespace: "a", name: "b", labels: {}, annotations });
    expect(result.state).toBe("malformed");
    expect(result.state === "malformed" && result.detail).toMatch(message);
  });

  it("reports a label that disagrees with its annotation as malformed", () => {
    const subject = signed();
    subject.labels["tekton-lineage.io/attempt"] = "7";
    expect(check(subject)).toMatchObject({ state: "malformed", detail: expect.stringMatching(/disagree/) });
  });

  it("admits the user's own cancel-in-progress key beside signed claims and on a plain run", () => {
    const claim = signed({
      annotations: { ...signed().annotations, "tekton-lineage.io/cancel-in-progress": "true" },
    });
    expect(check(claim)).toEqual({ state: "valid" });
    const plain = {
      namespace: "a",
      name: "b",
      labels: {},
      annotations: { "tekton-lineage.io/cancel-in-progress": "true" },
    };
    expect(check(plain)).toEqual({ state: "absent" });
  });
});

describe("signatures name their key", () => {
  it("signs as <key id>:<mac> and verifies with the key named, whatever the order of keys", () => {
    const subject = signed();
    const signature = subject.annotations[signatureKey] ?? "";
    expect(signatureKeyId(signature)).toBe(key.id);
    expect(signatureMatches([otherKey, key], subject, signature)).toBe(true);
    expect(signatureMatches([otherKey], subject, signature)).toBe(false);
  });

  it("still verifies a bare MAC of the first release with any key", () => {
    const subject = signed();
    const bare = (subject.annotations[signatureKey] ?? "").split(":")[1] ?? "";
    expect(signatureKeyId(bare)).toBeUndefined();
    expect(signatureMatches([otherKey, key], subject, bare)).toBe(true);
  });

  it("finds claims genuine for the reconciler however old they are, and only for this name and namespace", () => {
    const old = signed({
      annotations: { ...signed().annotations, "tekton-lineage.io/admitted-at": "2020-01-01T00:00:00Z" },
    });
    expect(claimsGenuine(old, [key])).toBe(true);
    expect(claimsGenuine({ ...old, namespace: "team-b" }, [key])).toBe(false);
    expect(claimsGenuine({ ...old, name: "other" }, [key])).toBe(false);
    expect(claimsGenuine({ ...old, annotations: { ...old.annotations, [signatureKey]: "" } }, [key])).toBe(
      false,
    );
  });

  it("learns a key it does not know yet before verifying", async () => {
    const subject = signed();
    const known = [otherKey];
    const ring = {
      current: () => otherKey,
      all: () => known,
      ensure: async (id: string) => (id === key.id ? known.push(key) > 0 : false),
    };
    await learnSigner(ring, subject);
    expect(check({ ...subject }).state).toBe("valid");
    expect(known.map((k) => k.id)).toEqual([otherKey.id, key.id]);
  });
});
