/** The parts of admission.k8s.io/v1 AdmissionReview that tekton-lineage reads and writes. */

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
}

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  userInfo: UserInfo;
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
}

export interface AdmissionReview {
  apiVersion: "admission.k8s.io/v1";
  kind: "AdmissionReview";
  request: AdmissionRequest;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: "JSONPatch";
  /** base64 of a JSON Patch array. */
  patch?: string;
  warnings?: string[];
  status?: { status: "Failure"; code: number; reason: string; message: string };
}

export interface AdmissionReviewResponse {
  apiVersion: "admission.k8s.io/v1";
  kind: "AdmissionReview";
  response: AdmissionResponse;
}

/**
 * What a decision function returns. A mutating decision hands back the whole object as it should be;
 * the envelope turns the difference into the JSON Patch, so no decision writes a JSON Pointer by hand.
 */
export type AdmissionDecision =
  | {
      allowed: true;
      mutated?: unknown;
      warnings?: string[];
      fallback?: string;
      /** Audit mode (audit-mode.ts): what the decision would have done; nothing was changed. */
      audit?: { would: "refuse" | "change"; message: string };
    }
  | { allowed: false; code: 403 | 422 | 429 | 500 | 503; reason: DenialReason; message: string };

export type DenialReason =
  | "Forbidden"
  | "Invalid"
  | "TooManyRequests"
  | "InternalError"
  | "ServiceUnavailable";
