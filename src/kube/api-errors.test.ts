import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { apiFailure, isAmbiguous } from "./api-errors.ts";

describe("apiFailure", () => {
  it("reads reason and message from the raw Status body of an ApiException", () => {
    const body = JSON.stringify({
      kind: "Status",
      reason: "AlreadyExists",
      message: 'pipelineruns.tekton.dev "x" already exists',
      details: { retryAfterSeconds: 1 },
    });
    const failure = apiFailure(new ApiException(409, "Conflict", body, {}));
    expect(failure).toEqual({
      code: 409,
      reason: "AlreadyExists",
      message: 'pipelineruns.tekton.dev "x" already exists',
      retryAfterSeconds: 1,
    });
    expect(apiFailure(new ApiException(409, "", body, {})).code).toBe(409);
  });

  it("treats a non-JSON body as the message", () => {
    expect(apiFailure(new ApiException(503, "x", "upstream down", {}))).toMatchObject({
      code: 503,
      message: "upstream down",
    });
  });

  it("reports a network failure as code 0, which is ambiguous", () => {
    const error = new TypeError("fetch failed");
    expect(apiFailure(error)).toMatchObject({ code: 0, reason: "NoResponse", message: "fetch failed" });
    expect(isAmbiguous(error)).toBe(true);
  });

  it("knows which answers prove nothing was written", () => {
    expect(isAmbiguous(new ApiException(500, "", "{}", {}))).toBe(true);
    expect(isAmbiguous(new ApiException(409, "", "{}", {}))).toBe(false);
    expect(isAmbiguous(new ApiException(422, "", "{}", {}))).toBe(false);
    expect(apiFailure(new ApiException(404, "", "{}", {})).code).toBe(404);
  });
});
