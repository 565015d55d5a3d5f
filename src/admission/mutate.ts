import type { Allocation } from "../lineage/attempt-plan.ts";
import { checkClaims, type SigningKey } from "../lineage/claims.ts";
import { type Lineage, type LineageRule, lineageOf } from "../lineage/lineage.ts";
import { attemptName } from "../lineage/names.ts";
import { admissionKeys, labelKeys } from "../lineage/vocabulary.ts";
import { withAdmissionClaims } from "./claims-patch.ts";
import type { AdmissionRoute } from "./handler.ts";
import { displayName, isPipelineRun, subjectOf } from "./pipelinerun-request.ts";
import type { AdmissionDecision, AdmissionRequest } from "./types.ts";

export interface AttemptSource {
  allocate(lineage: Lineage, nameFor: (attempt: number) => string, signal: AbortSignal): Promise<Allocation>;
  preview(lineage: Lineage, nameFor: (attempt: number) => string): Promise<Allocation>;
}

export interface KeyRing {
  current(): SigningKey;
  all(): SigningKey[];
}

export interface MutateDependencies {
  attempts: AttemptSource;
  keys: KeyRing;
  rule: LineageRule;
  instance: string;
  claimMaxAgeMs: number;
  onAllocationFailure: "allow" | "deny";
  now: () => Date;
}

/** Forged or malformed claims found while mutating or validating a create. */
export function claimsDenial(
  request: AdmissionRequest,
  state: "forged" | "malformed",
  detail: string,
): AdmissionDecision {
  const subject = subjectOf(request.object, request.namespace);
  const what = `PipelineRun ${subject.namespace}/${displayName(subject)} refused`;
  return state === "forged"
    ? { allowed: false, code: 403, reason: "Forbidden", message: `${what}: ${detail}` }
    : { allowed: false, code: 422, reason: "Invalid", message: `${what}: ${detail}` };
}

/**
 * /mutate: gives a new PipelineRun its deterministic name, attempt and lineage annotations, signed.
 * A create that already carries valid claims (a re-invocation) is left as it is; forged claims are refused.
 */
export function createMutateRoute(deps: MutateDependencies): AdmissionRoute {
  return {
    path: "/mutate",
    async decide(request, { signal }) {
      if (request.operation !== "CREATE" || !isPipelineRun(request) || !request.object)
        return { allowed: true };
      const subject = subjectOf(request.object, request.namespace);
      const now = deps.now();
      const check = checkClaims(subject, deps.keys.all(), now, deps.claimMaxAgeMs);
      if (check.state === "valid") return { allowed: true };
      if (check.state !== "absent") return claimsDenial(request, check.state, check.detail);

      const lineage = lineageOf(subject, deps.rule);
      const nameFor = subject.name
        ? () => subject.name
        : (n: number) => attemptName(lineage.base, lineage.id, n);
      const dryRun = request.dryRun === true;
      const allocation = dryRun
        ? await deps.attempts.preview(lineage, nameFor)
        : await deps.attempts.allocate(lineage, nameFor, signal);
      const attempt = String(allocation.attempt);
      const mutated = withAdmissionClaims(
        request.object,
        request.namespace,
        {
          name: allocation.name,
          annotations: {
            [admissionKeys.lineage]: lineage.key,
            [admissionKeys.lineageId]: lineage.id,
            [admissionKeys.attempt]: attempt,
            ...(allocation.supersedes ? { [admissionKeys.supersedes]: allocation.supersedes } : {}),
            [admissionKeys.admittedAt]: now.toISOString(),
            [admissionKeys.admittedBy]: deps.instance,
          },
          labels: { [labelKeys.lineageId]: lineage.id, [labelKeys.attempt]: attempt },
        },
        deps.keys.current(),
      );
      const warnings = dryRun ? [`dry run: attempt ${attempt} of this lineage is shown, not reserved`] : [];
      return { allowed: true, mutated, warnings };
    },
    fallback(request, why) {
      if (deps.onAllocationFailure === "deny") {
        return {
          allowed: false,
          code: 503,
          reason: "ServiceUnavailable",
          message: `tekton-lineage could not assign this PipelineRun an attempt number (${why}); nothing was created, retry the create in a few seconds`,
        };
      }
      const subject = subjectOf(request.object, request.namespace);
      return {
        allowed: true,
        fallback: why,
        warnings: [`tekton-lineage: ${displayName(subject)} admitted without lineage (${why})`],
      };
    },
  };
}
