import { Counter } from "prom-client";
import { auditEventFor } from "../admission/audit.ts";
import { auditModeRoute } from "../admission/audit-mode.ts";
import type { AdmissionRoute } from "../admission/handler.ts";
import { createMutateRoute } from "../admission/mutate.ts";
import { createValidateRoute } from "../admission/validate.ts";
import { OwnIdentity, selfSubjectReview } from "../kube/own-identity.ts";
import { AttemptAllocator, createAttemptMetrics } from "../lineage/attempts.ts";
import { NewLineageBudget } from "../lineage/new-lineage-budget.ts";
import { QueueAdmitter } from "../queue/admit/queue-admitter.ts";
import { runsOfQueueLister } from "../queue/admit/runs-of-queue.ts";
import type { Component } from "./component.ts";
import type { ServiceContext } from "./service.ts";

/** The webhook role: /mutate and /validate, their signing keys, counters, queues and audit Events. */
export function createWebhook(context: ServiceContext): Component {
  const { config, kubeConfig, logger, registry, namespace } = context;
  const {
    events,
    leaseStore: store,
    leaseConflicts: conflicts,
    repositories,
    signingKeys: keys,
  } = context.shared;
  const attempts = new AttemptAllocator({
    store,
    newLineages: new NewLineageBudget({
      perNamespacePerMinute: config.maxNewLineagesPerNamespace,
      perMinute: config.maxNewLineages,
    }),
    instance: config.instanceId,
    buckets: config.buckets,
    metrics: createAttemptMetrics(registry, conflicts),
    logger,
    maxLeasesInFlight: config.maxLeaseWrites,
    // Past half the deadline in line for one write, the rest of the line would end at the deadline: a
    // new admission of that lineage falls back at once instead.
    maxWaitMs: config.admissionDeadline / 2,
  });
  const limits = context.shared.queueLimits;
  const admitter = new QueueAdmitter({
    store,
    instance: config.instanceId,
    maxWaiting: config.maxQueueLength,
    conflicts,
    runsOfQueue: runsOfQueueLister(kubeConfig, keys),
  });
  const now = () => new Date();
  const identity = new OwnIdentity({
    review: selfSubjectReview(kubeConfig),
    assumed: `system:serviceaccount:${namespace}:tekton-lineage`,
    logger,
  });
  const isTrusted = (user: string) => user === identity.username || config.trustedUsers.includes(user);
  const auditDecisions = new Counter({
    name: "tekton_lineage_audit_decisions_total",
    help: "Reviews answered in audit mode that would have been refused or changed (nothing was), by path.",
    labelNames: ["path", "would"],
    registers: [context.registry],
  });
  const audited = (route: AdmissionRoute): AdmissionRoute => ({
    ...route,
    onDecision: (request, decision) => {
      const event = auditEventFor(route.path, request, decision);
      if (event) events.record(event);
      // Dry runs change nothing in any mode: neither Event nor count.
      if (decision.allowed && decision.audit && !request.dryRun)
        auditDecisions.inc({ path: route.path, would: decision.audit.would });
    },
  });
  const mutate = createMutateRoute({
    attempts,
    queues: { choose: (subject, pending) => limits.choose(subject, pending), admitter },
    keys,
    rule: { labels: config.lineageLabels },
    instance: config.instanceId,
    buckets: config.buckets,
    claimMaxAgeMs: config.claimMaxAge,
    onAllocationFailure: config.onAllocationFailure,
    now,
  });
  const validate = createValidateRoute({ keys, isTrusted, claimMaxAgeMs: config.claimMaxAge, now });
  // Each route also in audit mode (/mutate-audit, /validate-audit): decided, reported, nothing changed.
  const routes = [mutate, validate, auditModeRoute(mutate), auditModeRoute(validate)].map(audited);
  return {
    name: "webhook",
    routes,
    readiness: {
      "signing-key": () => keys.loaded,
      "own-identity": () => identity.username !== undefined,
      "repositories-synced": () => repositories.synced,
    },
    start() {
      void identity.start();
    },
    async stop() {
      identity.stop();
    },
  };
}
