import jsonpatch from "fast-json-patch";
import type {
  AdmissionDecision,
  AdmissionRequest,
  AdmissionReview,
  AdmissionReviewResponse,
  Operation,
} from "./types.ts";

export type ParsedReview = { ok: true; review: AdmissionReview } | { ok: false; message: string };

const operations: readonly Operation[] = ["CREATE", "UPDATE", "DELETE", "CONNECT"];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Checks the envelope the API server sends; a review that fails any check is refused with a message. */
export function parseAdmissionReview(value: unknown): ParsedReview {
  if (!isRecord(value))
    return { ok: false, message: "request body must be a JSON object (an AdmissionReview)" };
  if (Object.keys(value).length === 0)
    return { ok: false, message: "request body is empty; expected an AdmissionReview" };
  if (value.apiVersion !== "admission.k8s.io/v1") {
    return {
      ok: false,
      message: `apiVersion must be admission.k8s.io/v1, got ${JSON.stringify(value.apiVersion ?? null)}; set admissionReviewVersions: ["v1"]`,
    };
  }
  if (value.kind !== "AdmissionReview") {
    return { ok: false, message: `kind must be AdmissionReview, got ${JSON.stringify(value.kind ?? null)}` };
  }
  const request = value.request;
  if (!isRecord(request)) return { ok: false, message: "AdmissionReview has no request" };
  if (typeof request.uid !== "string" || request.uid.length === 0) {
    return { ok: false, message: "AdmissionReview request has no uid" };
  }
  if (!operations.includes(request.operation as Operation)) {
    return { ok: false, message: `request.operation must be one of ${operations.join(", ")}` };
  }
  if (!isRecord(request.kind) || !isRecord(request.resource)) {
    return { ok: false, message: "request.kind and request.resource must be objects" };
  }
  if (request.userInfo !== undefined && !isRecord(request.userInfo)) {
    return { ok: false, message: "request.userInfo must be an object" };
  }
  for (const field of ["object", "oldObject"] as const) {
    if (request[field] !== undefined && request[field] !== null && !isRecord(request[field])) {
      return { ok: false, message: `request.${field} must be an object` };
    }
  }
  const normalised = { ...request, userInfo: request.userInfo ?? {} } as unknown as AdmissionRequest;
  return {
    ok: true,
    review: { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: normalised },
  };
}

/** The API server keeps at most 120 characters of a warning; cut here so nothing is silently dropped. */
export const maxWarningLength = 120;

function cutWarning(warning: string): string {
  const chars = [...warning];
  return chars.length <= maxWarningLength ? warning : `${chars.slice(0, maxWarningLength - 1).join("")}…`;
}

/** The response the API server requires: same uid, allowed, and a base64 JSON Patch only when something changed. */
export function buildResponse(
  request: AdmissionRequest,
  decision: AdmissionDecision,
): AdmissionReviewResponse {
  const envelope = { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" } as const;
  if (!decision.allowed) {
    return {
      ...envelope,
      response: {
        uid: request.uid,
        allowed: false,
        status: {
          status: "Failure",
          code: decision.code,
          reason: decision.reason,
          message: decision.message,
        },
      },
    };
  }
  const response: AdmissionReviewResponse["response"] = { uid: request.uid, allowed: true };
  if (decision.mutated !== undefined && request.object !== undefined) {
    const patch = jsonpatch.compare(request.object as object, decision.mutated as object);
    if (patch.length > 0) {
      response.patchType = "JSONPatch";
      response.patch = Buffer.from(JSON.stringify(patch)).toString("base64");
    }
  }
  if (decision.warnings && decision.warnings.length > 0)
    response.warnings = decision.warnings.map(cutWarning);
  return { ...envelope, response };
}

/** The one word a review's outcome is counted and logged under. */
export function outcomeOf(response: AdmissionReviewResponse, decision: AdmissionDecision): string {
  if (!decision.allowed) return "denied";
  if (decision.fallback !== undefined) return "fallback";
  return response.response.patch ? "patched" : "allowed";
}
