import { parseDuration, parseList, parseOneOf, parsePositiveInteger, parseText } from "./parsers.ts";
import { setting } from "./setting.ts";

/** Admission: lineages, claims, refusals and their audit Events, attempt counters. */
export const admissionSettings = {
  lineageLabels: setting({
    flag: "lineage-labels",
    env: "TEKTON_LINEAGE_LINEAGE_LABELS",
    default: "",
    defaultText: "none",
    description:
      "For PipelineRuns Pipelines-as-Code did not create: comma-separated label keys whose values separate lineages (besides namespace and generateName).",
    parse: parseList,
  }),
  onAllocationFailure: setting({
    flag: "on-allocation-failure",
    env: "TEKTON_LINEAGE_ON_ALLOCATION_FAILURE",
    default: "allow",
    description:
      "When no attempt number can be allocated in time (API server slow or down): allow = admit unchanged with generateName and record an AdmissionFallback Event (pairs with failurePolicy Ignore); deny = refuse with a retryable message (pairs with failurePolicy Fail).",
    parse: parseOneOf(["allow", "deny"] as const),
  }),
  trustedUsers: setting({
    flag: "trusted-users",
    env: "TEKTON_LINEAGE_TRUSTED_USERS",
    default: "",
    defaultText: "none",
    description:
      "Comma-separated users allowed, besides tekton-lineage itself (the user the API server says it is), to change tekton-lineage's labels and annotations on existing PipelineRuns.",
    parse: parseList,
  }),
  claimMaxAge: setting({
    flag: "claim-max-age",
    env: "TEKTON_LINEAGE_CLAIM_MAX_AGE",
    default: "2m",
    description:
      "How old signed admission claims may be when a create is validated; older claims are a copy of another run and are refused.",
    parse: parseDuration,
  }),
  signingSecret: setting({
    flag: "signing-secret",
    env: "TEKTON_LINEAGE_SIGNING_SECRET",
    default: "tekton-lineage-signing",
    description: "Secret (in --namespace) with the HMAC key that signs admission claims; created if missing.",
    parse: parseText,
  }),
  auditEventRate: setting({
    flag: "audit-event-rate",
    env: "TEKTON_LINEAGE_AUDIT_EVENT_RATE",
    default: "5",
    description:
      "Audit Events written per second at most (bursts of 5x are allowed); the rest wait in a bounded queue.",
    parse: parsePositiveInteger,
  }),
  resync: setting({
    flag: "resync",
    env: "TEKTON_LINEAGE_RESYNC",
    default: "5m",
    description: "How often the reconciler looks at every cached PipelineRun again, even without a change.",
    parse: parseDuration,
  }),
  maxNewLineagesPerNamespace: setting({
    flag: "max-new-lineages-per-namespace",
    env: "TEKTON_LINEAGE_MAX_NEW_LINEAGES_PER_NAMESPACE",
    default: "600",
    description:
      "New lineages (each an attempt counter Lease in tekton-lineage's namespace) one webhook process starts per namespace per minute; beyond it a run is admitted without lineage, with a warning. Bounds how fast anyone who can create runs grows tekton-lineage's state.",
    parse: parsePositiveInteger,
  }),
  maxNewLineages: setting({
    flag: "max-new-lineages",
    env: "TEKTON_LINEAGE_MAX_NEW_LINEAGES",
    default: "3000",
    description: "New lineages one webhook process starts per minute over all namespaces together.",
    parse: parsePositiveInteger,
  }),
  counterGcInterval: setting({
    flag: "counter-gc-interval",
    env: "TEKTON_LINEAGE_COUNTER_GC_INTERVAL",
    default: "1m",
    description: "How often the leader deletes attempt counters of lineages that have no PipelineRun left.",
    parse: parseDuration,
  }),
  counterGcGrace: setting({
    flag: "counter-gc-grace",
    env: "TEKTON_LINEAGE_COUNTER_GC_GRACE",
    default: "1h",
    description: "An attempt counter is kept at least this long after its last allocation.",
    parse: parseDuration,
  }),
  counterGcGraceSingle: setting({
    flag: "counter-gc-grace-single-attempt",
    env: "TEKTON_LINEAGE_COUNTER_GC_GRACE_SINGLE_ATTEMPT",
    default: "5m",
    description:
      "A counter that handed out one attempt only, whose lineage has no PipelineRun, is deleted after this long instead (a create that failed, or a review that did not come from the API server): long enough to report that attempt as never created.",
    parse: parseDuration,
  }),
};
