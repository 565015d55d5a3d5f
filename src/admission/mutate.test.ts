import { describe, expect, it } from "vitest";
import { bucketOf } from "../core/buckets.ts";
import { planAllocations } from "../lineage/attempt-plan.ts";
import { checkClaims } from "../lineage/claims.ts";
import type { Lineage } from "../lineage/lineage.ts";
import { silentLogger } from "../observability/logger.ts";
import { fixture } from "../testing/fixtures.ts";
import { testKey } from "../testing/keys.ts";
import { createMutateRoute, type MutateDependencies } from "./mutate.ts";
import { runMetaOf } from "./pipelinerun-request.ts";
import { buildResponse } from "./review.ts";
import type { AdmissionRequest, AdmissionReview } from "./types.ts";

const key = testKey("7");
const now = new Date("2026-11-22T10:00:00.000Z");
const review = fixture<AdmissionReview>(import.meta.url, "create-generate-name.json");

/** An in-memory counter standing in for the Lease allocator. */
function counter() {
  let record = { last: 0 } as ReturnType<typeof planAllocations>["record"];
  const calls = { allocate: 0, preview: 0 };
  const fallenBack: string[] = [];
  return {
    calls,
    fallenBack,
    markFallenBack: async (lineageId: string, attempt: number) => {
      fallenBack.push(`${lineageId}#${attempt}`);
    },
    allocate: async (lineage: Lineage, nameFor: (n: number) => string) => {
      calls.allocate += 1;
      const plan = planAllocations(record, [{ lineageKey: lineage.key, nameFor }]);
      record = plan.record;
      return plan.allocations[0] ?? { attempt: 0, name: "" };
    },
    preview: async (lineage: Lineage, nameFor: (n: number) => string) => {
      calls.preview += 1;
      return (
        planAllocations(record, [{ lineageKey: lineage.key, nameFor }]).allocations[0] ?? {
          attempt: 0,
          name: "",
        }
      );
    },
  };
}

function route(overrides: Partial<MutateDependencies> = {}) {
  const attempts = counter();
  const deps: MutateDependencies = {
    attempts,
    keys: { current: () => key, all: () => [key] },
    rule: { labels: [] },
    instance: "webhook-a",
    buckets: 16,
    claimMaxAgeMs: 120_000,
    onAllocationFailure: "allow",
    now: () => now,
    ...overrides,
  };
  return { route: createMutateRoute(deps), attempts };
}

const context = () => ({ signal: new AbortController().signal, logger: silentLogger() });
const request = (patch: Partial<AdmissionRequest> = {}): AdmissionRequest => ({
  ...structuredClone(review.request),
  ...patch,
});
type Meta = { name: string; labels: Record<string, string>; annotations: Record<string, string> };
const metaOf = (object: unknown) => (object as { metadata: Meta }).metadata;

describe("createMutateRoute", () => {
  it("names a PaC run after its pipeline, lineage and attempt, and annotates it", async () => {
    const { route: mutate } = route();
    const decision = await mutate.decide(request(), context());
    expect(decision.allowed).toBe(true);
    const meta = metaOf(decision.allowed && decision.mutated);
    const id = meta.annotations["tekton-lineage.io/lineage-id"];
    expect(meta.name).toBe(`build-${id}-1`);
    expect(meta.annotations).toMatchObject({
      "tekton-lineage.io/lineage":
        "pac/team-a/my-repo/pull_request/42/4d6f1f0c2b1e8a7d9c3b5a4f6e8d7c9b1a2f3e4d/build",
      "tekton-lineage.io/attempt": "1",
      "tekton-lineage.io/admitted-at": "2026-11-22T10:00:00.000Z",
      "tekton-lineage.io/admitted-by": "webhook-a",
      "pipelinesascode.tekton.dev/repository": "my-repo",
    });
    expect(meta.annotations["tekton-lineage.io/supersedes"]).toBeUndefined();
    expect(meta.labels).toMatchObject({
      "tekton-lineage.io/lineage-id": id,
      "tekton-lineage.io/attempt": "1",
      "tekton-lineage.io/bucket": bucketOf("team-a", 16),
    });
    expect(meta.labels["tekton-lineage.io/queue-scope"]).toBeUndefined();
    expect(meta.annotations["tekton-lineage.io/signature"]).toMatch(new RegExp(`^${key.id}:[\\w-]{43}$`));
  });

  it("names the previous attempt in supersedes on a retest", async () => {
    const { route: mutate } = route();
    const first = await mutate.decide(request(), context());
    const second = await mutate.decide(request({ uid: "other" }), context());
    const firstName = metaOf(first.allowed && first.mutated).name;
    const meta = metaOf(second.allowed && second.mutated);
    expect(meta.annotations["tekton-lineage.io/attempt"]).toBe("2");
    expect(meta.annotations["tekton-lineage.io/supersedes"]).toBe(firstName);
  });

  it("produces claims the validating side accepts, and changes nothing when invoked again", async () => {
    const { route: mutate, attempts } = route();
    const first = await mutate.decide(request(), context());
    const mutated = first.allowed ? first.mutated : undefined;
    expect(checkClaims(runMetaOf(mutated, "team-a"), [key], now, 120_000)).toEqual({ state: "valid" });
    const again = await mutate.decide(request({ object: mutated }), context());
    expect(again).toEqual({ allowed: true });
    expect(attempts.calls.allocate).toBe(1);
    expect(buildResponse(request({ object: mutated }), again).response.patch).toBeUndefined();
  });

  it("keeps an explicit name and still annotates it", async () => {
    const { route: mutate } = route();
    const object = structuredClone(review.request.object) as { metadata: Record<string, unknown> };
    object.metadata.name = "my-own-name";
    delete object.metadata.generateName;
    const decision = await mutate.decide(request({ object }), context());
    const meta = metaOf(decision.allowed && decision.mutated);
    expect(meta.name).toBe("my-own-name");
    expect(meta.annotations["tekton-lineage.io/attempt"]).toBe("1");
  });

  it("reserves nothing for a dry run, and says so", async () => {
    const { route: mutate, attempts } = route();
    const decision = await mutate.decide(request({ dryRun: true }), context());
    expect(attempts.calls).toEqual({ allocate: 0, preview: 1 });
    expect(decision.allowed && decision.warnings).toEqual([
      "dry run: attempt 1 of this lineage is shown, not reserved",
    ]);
  });

  it("refuses forged claims with 403 and malformed ones with 422", async () => {
    const { route: mutate, attempts } = route();
    const forged = structuredClone(review.request.object) as {
      metadata: { annotations: Record<string, string> };
    };
    forged.metadata.annotations["tekton-lineage.io/attempt"] = "1";
    expect(await mutate.decide(request({ object: forged }), context())).toMatchObject({
      allowed: false,
      code: 403,
      message: expect.stringMatching(
        /^PipelineRun team-a\/build-\* refused: tekton-lineage.io\/attempt not set by tekton-lineage/,
      ),
    });
    forged.metadata.annotations["tekton-lineage.io/attempt"] = "first";
    expect(await mutate.decide(request({ object: forged }), context())).toMatchObject({
      allowed: false,
      code: 422,
    });
    expect(attempts.calls.allocate).toBe(0);
  });

  describe("a rerun (a console's or the Dashboard's copy of a run, claims included)", () => {
    /** The stored run attempt 1 became: its mutated object, plus what the reconciler wrote after. */
    async function storedFirstAttempt(mutate: ReturnType<typeof route>["route"]) {
      const first = await mutate.decide(request(), context());
      const stored = structuredClone(first.allowed && first.mutated) as {
        metadata: {
          name?: string;
          generateName?: string;
          annotations: Record<string, string>;
          labels: Record<string, string>;
        };
        spec: Record<string, unknown>;
      };
      stored.metadata.annotations["tekton-lineage.io/queue-decision"] =
        "started by queue q after waiting 1.0s";
      stored.metadata.annotations["pipelinesascode.tekton.dev/state"] = "completed";
      return stored;
    }
    /** What a console's Rerun creates: another name, the same labels and annotations. */
    const rerunOf = (stored: Awaited<ReturnType<typeof storedFirstAttempt>>) => {
      const copy = structuredClone(stored);
      copy.metadata.generateName = `${copy.metadata.name}-r-`;
      delete copy.metadata.name;
      return copy;
    };

    it("is admitted as the next attempt of the lineage, its copied claims replaced", async () => {
      const { route: mutate } = route();
      const stored = await storedFirstAttempt(mutate);
      const decision = await mutate.decide(request({ object: rerunOf(stored) }), context());
      expect(decision.allowed).toBe(true);
      const meta = metaOf(decision.allowed && decision.mutated);
      const id = meta.annotations["tekton-lineage.io/lineage-id"];
      expect(meta.name).toBe(`build-${id}-2`);
      expect(meta.annotations).toMatchObject({
        "tekton-lineage.io/attempt": "2",
        "tekton-lineage.io/supersedes": `build-${id}-1`,
        "pipelinesascode.tekton.dev/state": "completed",
      });
      expect(meta.annotations).not.toHaveProperty("tekton-lineage.io/queue-decision");
      expect(
        checkClaims(runMetaOf(decision.allowed && decision.mutated, "team-a"), [key], now, 120_000),
      ).toEqual({
        state: "valid",
      });
      expect(decision.allowed && decision.warnings).toEqual([
        `a rerun of build-${id}-1: the tekton-lineage keys it copied were replaced by this attempt's`,
      ]);
    });

    it("does not keep the Pending the queue had given the original", async () => {
      // The original waited in a queue; the queue has room by the time of the rerun.
      let admissions = 0;
      const { route: mutate } = route({
        queues: {
          choose: () =>
            admissions++ === 0
              ? {
                  queued: true,
                  key: "q",
                  id: "q",
                  limit: 1,
                  source: { kind: "rule", name: "r" },
                  maxWaitMs: 0,
                }
              : { queued: false, reason: "no queue applies" },
          admitter: {
            admit: async () => ({ outcome: "wait", ticket: 2, position: 1, running: 1, limit: 1 }),
            preview: async () => ({ outcome: "wait", ticket: 2, position: 1, running: 1, limit: 1 }),
            release: async () => {},
          },
        },
      });
      const first = await mutate.decide(request(), context());
      const stored = structuredClone(first.allowed && first.mutated) as never as Parameters<
        typeof rerunOf
      >[0];
      expect((stored as unknown as { spec: { status?: string } }).spec.status).toBe("PipelineRunPending");
      const decision = await mutate.decide(request({ object: rerunOf(stored) }), context());
      const mutated = (decision.allowed ? decision.mutated : undefined) as { spec?: Record<string, unknown> };
      expect(mutated.spec).not.toHaveProperty("status");
    });

    it.each([
      [
        "claims changed after signing",
        (c: { metadata: { annotations: Record<string, string>; labels?: Record<string, string> } }) => {
          c.metadata.annotations["tekton-lineage.io/attempt"] = "7";
          c.metadata.labels = { ...c.metadata.labels, "tekton-lineage.io/attempt": "7" };
        },
      ],
      [
        "a copy into another lineage (another commit)",
        (c: { metadata: { annotations: Record<string, string> } }) => {
          c.metadata.annotations["pipelinesascode.tekton.dev/sha"] = "0".repeat(40);
        },
      ],
      [
        "a copy into another namespace",
        (c: { metadata: { annotations: Record<string, string>; namespace?: string } }) => {
          c.metadata.namespace = "team-b";
        },
      ],
    ])("stays refused when it is not a copy of a run of the lineage: %s", async (_what, change) => {
      const { route: mutate } = route();
      const copy = rerunOf(await storedFirstAttempt(mutate)) as never;
      change(copy);
      const namespace = (copy as { metadata: { namespace?: string } }).metadata.namespace ?? "team-a";
      expect(await mutate.decide(request({ object: copy, namespace }), context())).toMatchObject({
        allowed: false,
        code: 403,
      });
    });
  });

  it("leaves UPDATEs and other kinds alone", async () => {
    const { route: mutate } = route();
    expect(await mutate.decide(request({ operation: "UPDATE" }), context())).toEqual({ allowed: true });
    expect(
      await mutate.decide(
        request({ kind: { group: "tekton.dev", version: "v1", kind: "TaskRun" } }),
        context(),
      ),
    ).toEqual({ allowed: true });
  });

  it("falls back to generateName (allow) or to a retryable refusal (deny)", () => {
    const allow = route().route.fallback(request(), "no decision within 3000ms");
    expect(allow).toEqual({
      allowed: true,
      fallback: "no decision within 3000ms",
      warnings: ["tekton-lineage: build-* admitted without lineage (no decision within 3000ms)"],
    });
    const deny = route({ onAllocationFailure: "deny" }).route.fallback(request(), "API down");
    expect(deny).toMatchObject({
      allowed: false,
      code: 503,
      message: expect.stringMatching(/retry the create/),
    });
  });
});

describe("createMutateRoute with a queue", () => {
  const choice = {
    queued: true as const,
    key: "pac/team-a/my-repo",
    id: "abcdefghij",
    limit: 2,
    source: { kind: "repository" as const, namespace: "team-a", name: "my-repo" },
    maxWaitMs: 0,
  };
  const ruleChoice = {
    ...choice,
    key: "deploys",
    source: { kind: "rule" as const, name: "deploys" },
  };
  type Admission = import("../queue/admit/admit-plan.ts").QueueAdmission;
  const withQueue = (admission: Admission, chosen: typeof choice | typeof ruleChoice = choice) => {
    const seen: string[] = [];
    const released: string[] = [];
    const { route: mutate, attempts } = route({
      queues: {
        choose: () => chosen,
        admitter: {
          admit: async (_c, run) => {
            seen.push(run);
            return admission;
          },
          preview: async () => admission,
          release: async (queueId, run) => {
            released.push(`${queueId} ${run}`);
          },
        },
      },
    });
    return { mutate, seen, released, attempts };
  };

  it("marks the attempt and gives back the queue place of a decision that came after the fallback", async () => {
    const { mutate, released, attempts } = withQueue({
      outcome: "wait",
      ticket: 9,
      position: 3,
      running: 2,
      limit: 2,
    });
    const late = await mutate.decide(request(), context());
    await mutate.abandoned?.(request(), late);
    const meta = metaOf(late.allowed ? late.mutated : undefined);
    expect(attempts.fallenBack).toEqual([`${meta.labels["tekton-lineage.io/lineage-id"]}#1`]);
    expect(released).toEqual([`abcdefghij team-a/${meta.name}`]);
    await mutate.abandoned?.(request({ dryRun: true }), late);
    await mutate.abandoned?.(request(), mutate.fallback(request(), "late"));
    expect(released).toHaveLength(1);
  });

  it("starts a run that got a slot, recording the ticket and the fence", async () => {
    const { mutate, seen } = withQueue({ outcome: "start", ticket: 7, fence: 3, running: 1, limit: 2 });
    const decision = await mutate.decide(request(), context());
    const mutated = (decision.allowed ? decision.mutated : undefined) as { spec: { status?: string } };
    const meta = metaOf(mutated);
    expect(seen).toEqual([`team-a/${meta.name}`]);
    expect(meta.annotations).toMatchObject({
      "tekton-lineage.io/queue": "pac/team-a/my-repo",
      "tekton-lineage.io/queue-ticket": "7",
      "tekton-lineage.io/queue-slot": "3",
      "tekton-lineage.io/attempt": "1",
    });
    expect(meta.annotations["tekton-lineage.io/pending-by-queue"]).toBeUndefined();
    expect(meta.labels["tekton-lineage.io/queue-id"]).toBe("abcdefghij");
    // A Repository's queue lies in its namespace's bucket.
    expect(meta.labels["tekton-lineage.io/queue-scope"]).toBeUndefined();
    expect(mutated.spec.status).toBeUndefined();
    expect(decision.allowed && decision.warnings).toEqual([
      "queue pac/team-a/my-repo: started at once (1/2 running)",
    ]);
    expect(checkClaims(runMetaOf(mutated, "team-a"), [key], now, 120_000)).toEqual({ state: "valid" });
  });

  it("marks a run of a rule's queue, which may span namespaces, for the leader; a tenant's own marks are dropped", async () => {
    const start = { outcome: "start" as const, ticket: 1, fence: 1, running: 1, limit: 2 };
    const forged = request();
    const object = forged.object as { metadata: { labels?: Record<string, string> } };
    object.metadata.labels = {
      ...object.metadata.labels,
      "tekton-lineage.io/queue-scope": "cluster",
      "tekton-lineage.io/bucket": "0-of-16",
    };
    const { mutate } = withQueue(start);
    const meta = metaOf(((await mutate.decide(forged, context())) as { mutated: unknown }).mutated);
    expect(meta.labels["tekton-lineage.io/queue-scope"]).toBeUndefined();
    expect(meta.labels["tekton-lineage.io/bucket"]).toBe(bucketOf("team-a", 16));
    const { mutate: ruled } = withQueue(start, ruleChoice);
    const ruledMeta = metaOf(((await ruled.decide(request(), context())) as { mutated: unknown }).mutated);
    expect(ruledMeta.labels["tekton-lineage.io/queue-scope"]).toBe("cluster");
  });

  it("makes a run that must wait Pending, marked as made Pending by the queue", async () => {
    const { mutate } = withQueue({ outcome: "wait", ticket: 9, position: 3, running: 2, limit: 2 });
    const decision = await mutate.decide(request(), context());
    const mutated = (decision.allowed ? decision.mutated : undefined) as { spec: { status?: string } };
    expect(mutated.spec.status).toBe("PipelineRunPending");
    expect(metaOf(mutated).annotations["tekton-lineage.io/pending-by-queue"]).toBe("true");
    expect(decision.allowed && decision.warnings).toEqual([
      "queue pac/team-a/my-repo: waiting, 3 in line (2/2 running)",
    ]);
  });

  it("refuses a run when its queue is full", async () => {
    const { mutate } = withQueue({ outcome: "full", waiting: 1000, limit: 2 });
    expect(await mutate.decide(request(), context())).toMatchObject({
      allowed: false,
      code: 429,
      message: expect.stringMatching(
        /^queue pac\/team-a\/my-repo is full \(1000 PipelineRuns waiting\): build-[a-z2-7]{10}-1 was not created; retest once the queue drains$/,
      ),
    });
  });
});
