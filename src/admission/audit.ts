import type { AuditEvent } from "../kube/event-recorder.ts";
import { displayName, runMetaOf } from "./pipelinerun-request.ts";
import type { AdmissionDecision, AdmissionRequest } from "./types.ts";

/**
 * The audit Event for a decision, when it deserves one: every denial (CreationRejected,
 * UpdateRejected), every fallback (AdmissionFallback), and in audit mode what would have been done
 * (AuditWouldRefuse, AuditWouldChange). Dry runs write nothing.
 */
export function auditEventFor(
  path: string,
  request: AdmissionRequest,
  decision: AdmissionDecision,
): AuditEvent | undefined {
  if (request.dryRun) return undefined;
  const subject = runMetaOf(request.object ?? request.oldObject, request.namespace);
  const user = request.userInfo.username ?? "(unknown user)";
  const base = {
    namespace: subject.namespace,
    objectName: subject.name || subject.generateName || "pipelinerun",
    type: "Warning" as const,
  };
  if (!decision.allowed) {
    const reason = request.operation === "CREATE" ? "CreationRejected" : "UpdateRejected";
    return {
      ...base,
      reason,
      message: `${request.operation} by ${user} denied (${decision.code}) at ${path}: ${decision.message}`,
    };
  }
  if (decision.audit) {
    // Audit mode: a refusal it would make is a Warning, a change it would make is Normal.
    return {
      ...base,
      type: decision.audit.would === "refuse" ? "Warning" : "Normal",
      reason: decision.audit.would === "refuse" ? "AuditWouldRefuse" : "AuditWouldChange",
      message: `${request.operation} of ${displayName(subject)} by ${user} at ${path} (audit mode, nothing changed): ${decision.audit.message}`,
    };
  }
  if (decision.fallback !== undefined) {
    return {
      ...base,
      reason: "AdmissionFallback",
      message: `${request.operation} of ${displayName(subject)} by ${user} admitted without tekton-lineage's decision at ${path}: ${decision.fallback}`,
    };
  }
  return undefined;
}
