import { describe, expect, it, vi } from "vitest";
import { silentLogger } from "../observability/logger.ts";
import { OwnIdentity } from "./own-identity.ts";

const assumed = "system:serviceaccount:tekton-lineage:tekton-lineage";
const apiError = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code, body: "{}" });

/** An OwnIdentity whose every SelfSubjectReview gives `answer`, counting the reviews. */
function identity(answer: () => Promise<string | undefined>) {
  let calls = 0;
  const review = () => {
    calls += 1;
    return answer();
  };
  return { own: new OwnIdentity({ review, assumed, logger: silentLogger() }), calls: () => calls };
}

describe("OwnIdentity", () => {
  it("is the user the API server names, whatever the ServiceAccount is called", async () => {
    const { own } = identity(async () => "system:serviceaccount:ci:lineage-renamed");
    expect(own.username).toBeUndefined();
    await own.start();
    expect(own.username).toBe("system:serviceaccount:ci:lineage-renamed");
  });

  it.each([404, 403])("assumes the released ServiceAccount when the review answers %i", async (code) => {
    const { own } = identity(() => Promise.reject(apiError(code)));
    await own.start();
    expect(own.username).toBe(assumed);
  });

  it("retries an outage instead of guessing, and stays unknown until stopped", async () => {
    const { own, calls } = identity(() => Promise.reject(apiError(503)));
    const started = own.start();
    await vi.waitFor(() => expect(calls()).toBe(1));
    expect(own.username).toBeUndefined();
    own.stop();
    await started;
    expect(own.username).toBeUndefined();
    expect(calls()).toBe(1);
  });
});
