import { describe, expect, it } from "vitest";
import { silentLogger } from "../observability/logger.ts";
import { auditAnswer, auditModeRoute } from "./audit-mode.ts";
import type { AdmissionRoute } from "./handler.ts";
import type { AdmissionDecision, AdmissionRequest } from "./types.ts";

const request: AdmissionRequest = {
  uid: "u",
  kind: { group: "tekton.dev", version: "v1", kind: "PipelineRun" },
  resource: { group: "tekton.dev", version: "v1", resource: "pipelineruns" },
  namespace: "team-a",
  operation: "CREATE",
  userInfo: { username: "pac" },
  object: { metadata: { generateName: "build-", namespace: "team-a" } },
  dryRun: false,
};

const mutated = (annotations: Record<string, string>) => ({
  metadata: { name: "build-abc-2", namespace: "team-a", annotations },
});

describe("auditAnswer", () => {
  it.each<[string, AdmissionDecision, { warning?: string; audit?: object }]>([
    ["nothing to change: allowed, nothing said", { allowed: true }, {}],
    [
      "a refusal: allowed, said",
      { allowed: false, code: 403, reason: "Forbidden", message: "forged claims" },
      { audit: { would: "refuse", message: "would refuse (403): forged claims" } },
    ],
    [
      "a name and a wait in a queue",
      {
        allowed: true,
        mutated: mutated({
          "tekton-lineage.io/attempt": "2",
          "tekton-lineage.io/lineage": "pac/team-a/repo/pull_request/7/abc/build",
          "tekton-lineage.io/queue": "pac/team-a/repo",
          "tekton-lineage.io/pending-by-queue": "true",
        }),
      },
      {
        audit: {
          would: "change",
          message:
            "would name it build-abc-2 (attempt 2 of lineage pac/team-a/repo/pull_request/7/abc/build); make it wait in queue pac/team-a/repo",
        },
      },
    ],
  ])("%s", (_what, decision, want) => {
    const answer = auditAnswer(request, decision);
    expect(answer.allowed).toBe(true);
    if (!answer.allowed) return;
    // Never a change: no mutated object reaches the envelope, so no patch.
    expect(answer.mutated).toBeUndefined();
    expect(answer.audit).toEqual(want.audit);
    if (want.audit) expect(answer.warnings?.[0]).toContain("tekton-lineage (audit)");
  });
});

describe("auditModeRoute", () => {
  it("decides as a dry run at <path>-audit, and never refuses, even when the decision cannot be made", async () => {
    const seen: AdmissionRequest[] = [];
    const route: AdmissionRoute = {
      path: "/mutate",
      async decide(r) {
        seen.push(r);
        return { allowed: false, code: 429, reason: "TooManyRequests", message: "queue full" };
      },
      fallback: () => ({ allowed: false, code: 503, reason: "ServiceUnavailable", message: "down" }),
    };
    const audit = auditModeRoute(route);
    expect(audit.path).toBe("/mutate-audit");
    const answer = await audit.decide(request, {
      signal: new AbortController().signal,
      logger: silentLogger(),
    });
    expect(seen.map((r) => r.dryRun)).toEqual([true]);
    expect(answer).toMatchObject({ allowed: true, audit: { would: "refuse" } });
    expect(audit.fallback(request, "deadline")).toMatchObject({ allowed: true, fallback: "deadline" });
  });
});
