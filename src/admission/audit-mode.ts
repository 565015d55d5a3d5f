import { admissionKeys } from "../core/vocabulary.ts";
import type { AdmissionRoute } from "./handler.ts";
import { displayName, runMetaOf } from "./pipelinerun-request.ts";
import type { AdmissionDecision, AdmissionRequest } from "./types.ts";

/** The path of a route's audit mode: the same decision, reported, nothing changed. */
const auditPath = (path: string) => `${path}-audit`;

/**
 * A route in audit mode, as Gatekeeper's `dryrun` and Kyverno's `Audit`: the decision is made as for a
 * dry run (the attempt shown, not reserved; the queue place previewed, not taken), then every review is
 * allowed unchanged, and what would have happened is said — a warning to the client, and on the decision
 * (`audit`) for the Event and the metric. A namespace (or a whole cluster) can so be watched before
 * tekton-lineage is let to change anything.
 */
export function auditModeRoute(route: AdmissionRoute): AdmissionRoute {
  return {
    path: auditPath(route.path),
    async decide(request, context) {
      const decision = await route.decide({ ...request, dryRun: true }, context);
      return auditAnswer(request, decision);
    },
    fallback(request, why) {
      const subject = runMetaOf(request.object ?? request.oldObject, request.namespace);
      return {
        allowed: true,
        fallback: why,
        warnings: [`tekton-lineage (audit): ${displayName(subject)} not judged (${why})`],
      };
    },
  };
}

/** Allowed, unchanged, saying what the decision would have done. */
export function auditAnswer(request: AdmissionRequest, decision: AdmissionDecision): AdmissionDecision {
  if (!decision.allowed) {
    const message = `would refuse (${decision.code}): ${decision.message}`;
    return {
      allowed: true,
      warnings: [`tekton-lineage (audit): ${message}`],
      audit: { would: "refuse", message },
    };
  }
  if (decision.mutated === undefined) return { allowed: true };
  const meta = runMetaOf(decision.mutated, request.namespace);
  const queue = meta.annotations[admissionKeys.queue];
  const waits = meta.annotations[admissionKeys.pendingByQueue] === "true";
  const parts = [
    `would name it ${meta.name} (attempt ${meta.annotations[admissionKeys.attempt]} of lineage ${meta.annotations[admissionKeys.lineage]})`,
    ...(queue ? [`${waits ? "make it wait in" : "start it at once in"} queue ${queue}`] : []),
  ];
  const message = parts.join("; ");
  return {
    allowed: true,
    warnings: [`tekton-lineage (audit): ${message}`],
    audit: { would: "change", message },
  };
}
