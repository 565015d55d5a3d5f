import { type Repository, repositoryResource, trimRepository } from "../core/repository.ts";
import { customResourceSource } from "../kube/custom-objects.ts";
import { EventRecorder } from "../kube/event-recorder.ts";
import { Informer } from "../kube/informer.ts";
import { createLeaseConflictCounter } from "../kube/lease-metrics.ts";
import { LeaseStore } from "../kube/leases.ts";
import type { ServiceContext } from "./service.ts";

/** The process's Event recorder (started by whichever role starts first; stopping twice is harmless). */
export function sharedEvents(context: ServiceContext): EventRecorder {
  return context.shared("events", () => {
    const rate = context.config.auditEventRate;
    return new EventRecorder({
      kubeConfig: context.kubeConfig,
      instance: context.config.instanceId,
      logger: context.logger,
      registry: context.registry,
      ratePerSecond: rate,
      burst: rate * 5,
    });
  });
}

export function sharedLeaseConflicts(context: ServiceContext) {
  return context.shared("lease-conflicts", () => createLeaseConflictCounter(context.registry));
}

export function sharedLeaseStore(context: ServiceContext): LeaseStore {
  return context.shared("lease-store", () => new LeaseStore(context.kubeConfig, context.namespace));
}

/** The Repository cache (queue limits, GitLab settings). */
export function sharedRepositories(context: ServiceContext): Informer<Repository> {
  return context.shared(
    "repositories",
    () =>
      new Informer<Repository>({
        name: "repositories",
        kubeConfig: context.kubeConfig,
        source: customResourceSource(context.kubeConfig, repositoryResource),
        namespaces: context.config.watchNamespaces,
        transform: trimRepository,
        resyncMs: context.config.resync,
        logger: context.logger,
      }),
  );
}
