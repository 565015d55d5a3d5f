/**
 * The version-skew rule (CHANGELOG.md, "Upgrades"): during a rolling upgrade, replicas of the previous
 * release and of this one admit and validate side by side, so each must accept the other's claims.
 *   1. Claims the previous release signed verify here (canonical text, signature format, key ids).
 *   2. This release writes no tekton-lineage key the previous release did not know: an older replica
 *      calls an unknown key malformed, and leaves it out of the text it verifies (a forged signature).
 *      A new key ships in two releases: the first only accepts it, the second writes it.
 * The frozen values below are v0.1.0's; move them forward only when a release that accepts a new key has
 * shipped.
 */
import { describe, expect, it } from "vitest";
import type { RunMeta } from "../core/tekton.ts";
import { admissionKeys, ownedLabelKeys, reconcilerKeys, signatureKey } from "../core/vocabulary.ts";
import { checkClaims, claimsGenuine } from "./claims.ts";

const previous = {
  release: "v0.1.0",
  admissionKeys: [
    "tekton-lineage.io/lineage",
    "tekton-lineage.io/lineage-id",
    "tekton-lineage.io/attempt",
    "tekton-lineage.io/supersedes",
    "tekton-lineage.io/admitted-at",
    "tekton-lineage.io/admitted-by",
    "tekton-lineage.io/queue",
    "tekton-lineage.io/queue-ticket",
    "tekton-lineage.io/enqueued-at",
    "tekton-lineage.io/pending-by-queue",
    "tekton-lineage.io/queue-slot",
  ],
  reconcilerKeys: [
    "tekton-lineage.io/queue-position",
    "tekton-lineage.io/queue-decision",
    "tekton-lineage.io/queue-outcome",
    "tekton-lineage.io/gitlab-pipeline-id",
    "tekton-lineage.io/pac-report-taken-over",
  ],
  labelKeys: ["tekton-lineage.io/lineage-id", "tekton-lineage.io/attempt", "tekton-lineage.io/queue-id"],
  signatureKey: "tekton-lineage.io/signature",
  /** A run v0.1.0 admitted (queued, superseding attempt 1), signed with a fixed test key. */
  run: {
    namespace: "team-a",
    name: "build-abcdefghij-2",
    generateName: "build-",
    annotations: {
      "tekton-lineage.io/lineage":
        "pac/team-a/repo/pull_request/7/4d6f1f0c2b1e8a7d9c3b5a4f6e8d7c9b1a2f3e4d/build",
      "tekton-lineage.io/lineage-id": "abcdefghij",
      "tekton-lineage.io/attempt": "2",
      "tekton-lineage.io/supersedes": "build-abcdefghij-1",
      "tekton-lineage.io/admitted-at": "2026-12-05T10:00:00.000Z",
      "tekton-lineage.io/admitted-by": "tekton-lineage-7d9f-x2k",
      "tekton-lineage.io/queue": "pac/team-a/repo",
      "tekton-lineage.io/queue-ticket": "12",
      "tekton-lineage.io/enqueued-at": "2026-12-05T10:00:00.000Z",
      "tekton-lineage.io/pending-by-queue": "true",
      "pipelinesascode.tekton.dev/sha": "4d6f1f0c2b1e8a7d9c3b5a4f6e8d7c9b1a2f3e4d",
      "tekton-lineage.io/signature": "k2026a:_SxjXp5xS93cxadspbIGEVecPhebPEiihZdD-vxC4t0",
    },
    labels: {
      "tekton-lineage.io/lineage-id": "abcdefghij",
      "tekton-lineage.io/attempt": "2",
      "tekton-lineage.io/queue-id": "q1234567",
    },
  } satisfies RunMeta,
  key: { id: "k2026a", key: Buffer.from("a fixed test key, never a real one") },
};

describe(`claims across a rolling upgrade from ${previous.release}`, () => {
  it("verifies claims the previous release signed", () => {
    expect(claimsGenuine(previous.run, [previous.key])).toBe(true);
    const justAdmitted = new Date(Date.parse("2026-12-05T10:00:01.000Z"));
    expect(checkClaims(previous.run, [previous.key], justAdmitted, 60_000)).toEqual({ state: "valid" });
  });

  it("writes no key the previous release would call unknown", () => {
    expect(signatureKey).toBe(previous.signatureKey);
    expect(Object.values(admissionKeys).filter((k) => !previous.admissionKeys.includes(k))).toEqual([]);
    expect(Object.values(reconcilerKeys).filter((k) => !previous.reconcilerKeys.includes(k))).toEqual([]);
    expect(ownedLabelKeys.filter((k) => !previous.labelKeys.includes(k))).toEqual([]);
  });
});
