import type { KubeConfig } from "@kubernetes/client-node";
import type { Counter, Registry } from "prom-client";
import type { Config } from "../config/settings.ts";
import { type Repository, repositoryResource, trimRepository } from "../core/repository.ts";
import { customResourceSource } from "../kube/custom-objects.ts";
import { EventRecorder } from "../kube/event-recorder.ts";
import { Informer } from "../kube/informer.ts";
import { KubeHttp } from "../kube/kube-http.ts";
import { HttpLeaseStore } from "../kube/lease-http.ts";
import { createLeaseConflictCounter } from "../kube/lease-metrics.ts";
import type { LeaseAccess } from "../kube/leases.ts";
import { SigningKeys } from "../kube/signing-keys.ts";
import type { Logger } from "../observability/logger.ts";
import { QueueLimits } from "../queue/limits.ts";

/** What both roles use, one instance per process: made, started and stopped once by the service. */
export interface Shared {
  /** Events from admission and the reconciler, through one bounded, rate-limited queue. */
  events: EventRecorder;
  /**
   * Plain-JSON calls to the API server over one HTTP/2 connection: the Lease store's, and the lists made
   * on a hot path or in pages (a failure's TaskRuns, the admitted runs' metadata).
   */
  kubeHttp: KubeHttp;
  /** The Leases in tekton-lineage's namespace (attempt counters, queues, leader election). */
  leaseStore: LeaseAccess;
  /** Conflicts of every Lease writer of the process. */
  leaseConflicts: Counter<"kind">;
  /** The Repository cache (queue limits, GitLab settings). */
  repositories: Informer<Repository>;
  /**
   * PaC's global Repository (its settings are every Repository's defaults), where PaC is installed;
   * undefined when --pac-namespace is empty.
   */
  pacGlobalRepository: Informer<Repository> | undefined;
  /** The keys that sign admission claims (the webhook signs; the reconciler verifies and re-signs). */
  signingKeys: SigningKeys;
  /** Which queue a run joins and its limit: admission chooses with it, the reconciler follows its changes. */
  queueLimits: QueueLimits;
}

export interface SharedInputs {
  config: Config;
  logger: Logger;
  registry: Registry;
  kubeConfig: KubeConfig;
  namespace: string;
}

export function createShared({ config, logger, registry, kubeConfig, namespace }: SharedInputs): Shared {
  const rate = config.auditEventRate;
  const repositories = new Informer<Repository>({
    name: "repositories",
    kubeConfig,
    source: customResourceSource(kubeConfig, repositoryResource),
    namespaces: config.watchNamespaces,
    transform: trimRepository,
    resyncMs: config.resync,
    logger,
  });
  const pacGlobalRepository = !config.pacNamespace
    ? undefined
    : new Informer<Repository>({
        name: "pac-global-repository",
        kubeConfig,
        source: customResourceSource(kubeConfig, repositoryResource),
        namespaces: [config.pacNamespace],
        fieldSelector: `metadata.name=${config.pacGlobalRepository}`,
        transform: trimRepository,
        resyncMs: config.resync,
        logger,
      });
  const kubeHttp = new KubeHttp(kubeConfig);
  return {
    events: new EventRecorder({
      kubeConfig,
      instance: config.instanceId,
      logger,
      registry,
      ratePerSecond: rate,
      burst: rate * 5,
    }),
    kubeHttp,
    leaseStore: new HttpLeaseStore(kubeHttp, namespace),
    leaseConflicts: createLeaseConflictCounter(registry),
    signingKeys: new SigningKeys({ kubeConfig, namespace, secretName: config.signingSecret, logger }),
    repositories,
    pacGlobalRepository,
    queueLimits: new QueueLimits({
      repositories,
      globalRepository: () => pacGlobalRepository?.get(config.pacNamespace, config.pacGlobalRepository),
      rules: config.queueRules,
      defaultMaxWaitMs: config.maxQueueWait,
    }),
  };
}

export function startShared(shared: Shared): void {
  shared.events.start();
  shared.repositories.start();
  shared.pacGlobalRepository?.start();
  // Not awaited: the key loads (with retries) while the process reports not ready.
  void shared.signingKeys.start();
}

export async function stopShared(shared: Shared): Promise<void> {
  shared.signingKeys.stop();
  shared.repositories.stop();
  shared.pacGlobalRepository?.stop();
  await shared.events.stop();
}
