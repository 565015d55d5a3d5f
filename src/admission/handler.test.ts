import { request as httpRequest } from "node:http";
import express from "express";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../observability/logger.ts";
import { InFlight } from "../server/in-flight.ts";
import { LoadBudget } from "../server/load-budget.ts";
import { fixture, fixtureText } from "../testing/fixtures.ts";
import { send, serve, stallAfter, type TestServer } from "../testing/http.ts";
import { type AdmissionRoute, admissionHandler } from "./handler.ts";
import { type AdmissionMetrics, createAdmissionMetrics } from "./metrics.ts";
import type { AdmissionDecision, AdmissionRequest, AdmissionReviewResponse } from "./types.ts";

const here = import.meta.url;
const createReview = fixtureText(here, "create-generate-name.json");
const json = { "content-type": "application/json" };

let server: TestServer;
let registry: Registry;
let metrics: AdmissionMetrics;
let inFlight: InFlight;
let decide: AdmissionRoute["decide"];
let abandoned: { request: AdmissionRequest; decision: AdmissionDecision }[];

function route(): AdmissionRoute {
  return {
    path: "/mutate",
    decide: (request, context) => decide(request, context),
    abandoned: async (request, decision) => {
      abandoned.push({ request, decision });
    },
    fallback: (_request, why) => ({
      allowed: true,
      fallback: why,
      warnings: [`tekton-lineage fell back: ${why}`],
    }),
  };
}

/** The envelope on /mutate around the test route (200 ms deadline, 64 KiB bodies), with a budget if given. */
function serveMutate(budget?: LoadBudget): Promise<TestServer> {
  const app = express();
  const envelope = { deadlineMs: 200, maxBodyBytes: 64 * 1024, metrics, logger: silentLogger(), inFlight };
  app.post("/mutate", admissionHandler(route(), { ...envelope, budget }));
  return serve(app);
}

beforeEach(async () => {
  registry = new Registry();
  metrics = createAdmissionMetrics(registry);
  inFlight = new InFlight();
  decide = async () => ({ allowed: true });
  abandoned = [];
  server = await serveMutate();
});

afterEach(async () => {
  await server.close();
});

const post = (body: string | Buffer, headers: Record<string, string> = json) =>
  send(`${server.url}/mutate`, { body, headers });

async function count(outcome: string): Promise<number> {
  const metric = await registry.getSingleMetric("tekton_lineage_admission_reviews_total")?.get();
  return metric?.values.find((v) => v.labels.outcome === outcome && v.labels.path === "/mutate")?.value ?? 0;
}

describe("a well-formed review", () => {
  it("is answered with the shape the API server requires and the same uid", async () => {
    const response = await post(createReview);
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    const review = JSON.parse(response.body) as AdmissionReviewResponse;
    expect(review).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true },
    });
    expect(await count("allowed")).toBe(1);
    expect(inFlight.size).toBe(0);
  });

  it("turns a mutated object into a base64 JSON Patch, escaping keys with slashes", async () => {
    decide = async (request) => {
      const object = structuredClone(request.object) as {
        metadata: { name?: string; labels: Record<string, string> };
      };
      object.metadata.name = "build-abc-1";
      object.metadata.labels["tekton-lineage.io/attempt"] = "1";
      return { allowed: true, mutated: object };
    };
    const review = JSON.parse((await post(createReview)).body) as AdmissionReviewResponse;
    expect(review.response.patchType).toBe("JSONPatch");
    const patch = JSON.parse(Buffer.from(review.response.patch ?? "", "base64").toString("utf8"));
    expect(patch).toEqual(
      expect.arrayContaining([
        { op: "add", path: "/metadata/name", value: "build-abc-1" },
        { op: "add", path: "/metadata/labels/tekton-lineage.io~1attempt", value: "1" },
      ]),
    );
    expect(patch).toHaveLength(2);
    expect(await count("patched")).toBe(1);
  });

  it("sends no patch when the mutated object equals the original (a re-invocation)", async () => {
    decide = async (request) => ({ allowed: true, mutated: structuredClone(request.object) });
    const review = JSON.parse((await post(createReview)).body) as AdmissionReviewResponse;
    expect(review.response).toEqual({ uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true });
  });

  it("carries a denial's code, reason and message in response.status", async () => {
    decide = async () => ({ allowed: false, code: 403, reason: "Forbidden", message: "no forging" });
    const review = JSON.parse((await post(createReview)).body) as AdmissionReviewResponse;
    expect(review.response).toEqual({
      uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
      allowed: false,
      status: { status: "Failure", code: 403, reason: "Forbidden", message: "no forging" },
    });
    expect(await count("denied")).toBe(1);
  });

  it("cuts warnings to the 120 characters the API server keeps", async () => {
    decide = async () => ({ allowed: true, warnings: ["é".repeat(200), "short"] });
    const review = JSON.parse((await post(createReview)).body) as AdmissionReviewResponse;
    const [long, short] = review.response.warnings ?? [];
    expect([...(long ?? "")].length).toBe(120);
    expect(short).toBe("short");
  });

  it("reads UPDATE reviews with both objects", async () => {
    let seen: AdmissionRequest | undefined;
    decide = async (request) => {
      seen = request;
      return { allowed: true };
    };
    await post(JSON.stringify(fixture(here, "update-labels.json")));
    expect(seen?.operation).toBe("UPDATE");
    expect(seen?.oldObject).toMatchObject({ metadata: { name: "build-x7k2m" } });
    expect(seen?.userInfo.username).toBe("alice");
  });
});

describe("the deadline", () => {
  it("answers with the route's fallback when the decision is late, and aborts the decision", async () => {
    let aborted = false;
    decide = (_request, context) =>
      new Promise<AdmissionDecision>((resolve) => {
        context.signal.addEventListener("abort", () => {
          aborted = true;
        });
        setTimeout(() => resolve({ allowed: false, code: 403, reason: "Forbidden", message: "late" }), 1000);
      });
    const started = Date.now();
    const review = JSON.parse((await post(createReview)).body) as AdmissionReviewResponse;
    expect(Date.now() - started).toBeLessThan(900);
    expect(review.response.allowed).toBe(true);
    expect(review.response.uid).toBe("705ab4f5-6393-11e8-b7cc-42010a800002");
    expect(review.response.warnings?.[0]).toMatch(
      /fell back: no decision within the 200ms admission deadline/,
    );
    expect(aborted).toBe(true);
    expect(await count("fallback")).toBe(1);
  });

  it("tells the route of a decision that arrived after its fallback went out, and of no other", async () => {
    let finish: (decision: AdmissionDecision) => void = () => {};
    decide = () => new Promise<AdmissionDecision>((resolve) => (finish = resolve));
    const review = JSON.parse((await post(createReview)).body) as AdmissionReviewResponse;
    expect(review.response.warnings?.[0]).toMatch(/fell back/);
    expect(abandoned).toEqual([]);
    finish({ allowed: true, mutated: { metadata: { name: "build-abcdefghij-3" } } });
    await vi.waitFor(() => expect(abandoned).toHaveLength(1));
    expect(abandoned[0]?.decision).toMatchObject({ mutated: { metadata: { name: "build-abcdefghij-3" } } });
    decide = async () => ({ allowed: true });
    await post(createReview);
    expect(abandoned).toHaveLength(1);
  });

  it("answers with the fallback when the decision throws", async () => {
    decide = async () => {
      throw new Error("API server unreachable");
    };
    const review = JSON.parse((await post(createReview)).body) as AdmissionReviewResponse;
    expect(review.response.warnings?.[0]).toContain("decision failed: API server unreachable");
  });
});

describe("rejected requests", () => {
  it.each([
    ["text/plain", 415, /Content-Type must be application\/json, got text\/plain/],
    ["application/yaml", 415, /got application\/yaml/],
  ])("refuses Content-Type %s with %i", async (type, status, message) => {
    const response = await post(createReview, { "content-type": type });
    expect(response.status).toBe(status);
    expect(JSON.parse(response.body).message).toMatch(message);
  });

  it("accepts application/json with a charset", async () => {
    expect((await post(createReview, { "content-type": "application/json; charset=utf-8" })).status).toBe(
      200,
    );
  });

  it("refuses a body over the cap with 413, by declared length or by counting chunks", async () => {
    const big = Buffer.alloc(65 * 1024, "a");
    const declared = await post(big);
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body).message).toContain("larger than the limit of 65536 bytes");
    const chunked = await send(`${server.url}/mutate`, {
      headers: { ...json, "transfer-encoding": "chunked" },
      chunks: Array.from({ length: 20 }, () => Buffer.alloc(4096, "a")),
    });
    expect(chunked.status).toBe(413);
    expect(await count("rejected")).toBe(2);
  });

  it.each([
    ["not JSON", "{ nope", /not valid JSON/],
    ["a JSON array", "[]", /must be a JSON object/],
    ["an empty body", "", /request body is empty/],
    ["no uid", fixtureText(here, "missing-uid.json"), /request has no uid/],
    [
      "admission.k8s.io/v1beta1",
      fixtureText(here, "v1beta1-review.json"),
      /apiVersion must be admission.k8s.io\/v1/,
    ],
    [
      "another kind",
      fixtureText(here, "wrong-kind.json"),
      /kind must be AdmissionReview, got "ConversionReview"/,
    ],
    ["no request", fixtureText(here, "no-request.json"), /has no request/],
    ["an unknown operation", fixtureText(here, "bad-operation.json"), /operation must be one of/],
  ])("refuses %s with 400 and a message", async (_what, body, message) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body).message).toMatch(message);
  });

  it("keeps serving after every kind of bad input", async () => {
    await post("{");
    await post(Buffer.alloc(70 * 1024));
    await post(createReview, { "content-type": "text/plain" });
    expect((await post(createReview)).status).toBe(200);
    expect(inFlight.size).toBe(0);
  });
});

describe("the load budget", () => {
  let budgeted: TestServer;
  let budget: LoadBudget;
  const inFlightReaches = (n: number) => vi.waitFor(() => expect(inFlight.size).toBe(n));
  beforeEach(async () => {
    budget = new LoadBudget(10, 64 * 1024);
    budgeted = await serveMutate(budget);
  });
  afterEach(async () => {
    await budgeted.close();
  });

  /** An upload that declares `declared` bytes, sends `sent` of them and waits; its answer, if any. */
  function stalledUpload(declared: number, sent: number) {
    const url = new URL(`${budgeted.url}/mutate`);
    const req = httpRequest(url, {
      method: "POST",
      headers: { ...json, "content-length": String(declared) },
    });
    return stallAfter(req, sent);
  }

  it("counts what slow uploads sent, not what they declared: a review still gets through", async () => {
    // Declared, they would fill the budget (2 × 32 KiB); sent, they hold 2 KiB.
    const slow = [stalledUpload(32 * 1024, 1024), stalledUpload(32 * 1024, 1024)];
    await vi.waitFor(() => expect(budget.held()).toBe(2048));
    expect((await send(`${budgeted.url}/mutate`, { body: createReview, headers: json })).status).toBe(200);
    for (const s of slow) s.abort();
  });

  it("sheds the largest body when bodies do not fit, and the review gets through", async () => {
    const big = stalledUpload(64 * 1024, 64 * 1024 - 100);
    // Its bytes have arrived (held), so the review's arrival is what tips the budget.
    await vi.waitFor(() => expect(budget.held()).toBe(64 * 1024 - 100));
    expect((await send(`${budgeted.url}/mutate`, { body: createReview, headers: json })).status).toBe(200);
    expect([429, -1]).toContain(await big.answer);
    const shed = await registry.getSingleMetric("tekton_lineage_admission_shed_total")?.get();
    expect(shed?.values.find((v) => v.labels.path === "/mutate")?.value).toBe(1);
    await inFlightReaches(0);
  });
});
