import { EventRecorder } from "../kube/event-recorder.ts";
import { LeaseStore } from "../kube/leases.ts";
import { SigningKeys } from "../kube/signing-keys.ts";
import { AttemptAllocator, createAttemptMetrics } from "../lineage/attempts.ts";
import type { Component } from "../service/component.ts";
import type { ServiceContext } from "../service/run.ts";
import { auditEventFor } from "./audit.ts";
import type { AdmissionRoute } from "./handler.ts";
import { createMutateRoute } from "./mutate.ts";
import { createValidateRoute } from "./validate.ts";

/** The webhook role: /mutate and /validate, their signing keys, attempt counters and audit Events. */
export function createWebhook(context: ServiceContext): Component {
  const { config, kubeConfig, logger, registry, namespace } = context;
  const keys = new SigningKeys({ kubeConfig, namespace, secretName: config.signingSecret, logger });
  const events = new EventRecorder({
    kubeConfig,
    instance: config.instanceId,
    logger,
    registry,
    ratePerSecond: config.auditEventRate,
    burst: config.auditEventRate * 5,
  });
  const attempts = new AttemptAllocator({
    store: new LeaseStore(kubeConfig, namespace),
    instance: config.instanceId,
    metrics: createAttemptMetrics(registry),
    logger,
  });
  const now = () => new Date();
  const trustedUsers =
    config.trustedUsers.length > 0
      ? config.trustedUsers
      : [`system:serviceaccount:${namespace}:tekton-lineage`];
  const audited = (route: AdmissionRoute): AdmissionRoute => ({
    ...route,
    onDecision: (request, decision) => {
      const event = auditEventFor(route.path, request, decision);
      if (event) events.record(event);
    },
  });
  const routes = [
    audited(
      createMutateRoute({
        attempts,
        keys,
        rule: { labels: config.lineageLabels },
        instance: config.instanceId,
        claimMaxAgeMs: config.claimMaxAge,
        onAllocationFailure: config.onAllocationFailure,
        now,
      }),
    ),
    audited(createValidateRoute({ keys, trustedUsers, claimMaxAgeMs: config.claimMaxAge, now })),
  ];
  return {
    name: "webhook",
    routes,
    readiness: { "signing-key": () => keys.loaded },
    start() {
      events.start();
      // Not awaited: the key loads (with retries) while the process reports not ready.
      void keys.start();
    },
    async stop() {
      keys.stop();
      await events.stop();
    },
  };
}
