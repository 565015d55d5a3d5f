import { CertificateManager, servingNames } from "../certs/manager.ts";
import { every } from "../core/periodic.ts";
import { type PipelineRun, pipelineRunResource } from "../core/tekton.ts";
import { resourcePath } from "../kube/custom-objects.ts";
import type { ObjectCache } from "../kube/informer.ts";
import { listMetadata } from "../kube/metadata-list.ts";
import { dropUnusedKeys, type KeysInUse } from "../kube/signing-keys.ts";
import { keysInUseCached, keysInUseListed } from "../lineage/keys-in-use.ts";
import type { ServiceContext } from "./service.ts";

/**
 * The leader's housekeeping of the install itself: the serving certificate and its CA bundle, and the
 * signing keys no live run was signed with. `runs` is the reconciler's cache of admitted runs.
 */
export function createHousekeeping(
  context: ServiceContext,
  options: { runs: { cache: Pick<ObjectCache<PipelineRun>, "synced">; genuine: ObjectCache<PipelineRun> } },
): { run(signal: AbortSignal): void } {
  const { config, kubeConfig, logger, namespace } = context;
  const certificates = config.manageCertificates
    ? new CertificateManager({
        kubeConfig,
        namespace,
        secretName: config.tlsSecret || "tekton-lineage-tls",
        policy: {
          sans: servingNames(config.serviceName, namespace, config.extraSans),
          servingValidMs: config.certValidity,
          renewBeforeMs: config.certRenewBefore,
          caValidMs: Math.max(config.certValidity * 10, 365 * 86_400_000),
        },
        webhookConfigurations: config.webhookConfigurations,
        logger,
      })
    : undefined;
  const keysInUse = keysInUseSource(context, options.runs);
  const dropRetiredKeys = async () => {
    if (!keysInUse) return;
    const dropped = await dropUnusedKeys(
      kubeConfig,
      namespace,
      config.signingSecret,
      keysInUse,
      2 * config.claimMaxAge,
    );
    if (dropped.length > 0)
      logger.info({ keys: dropped }, "dropped retired signing keys no live run was signed with");
  };
  return {
    run(signal) {
      if (keysInUse) void every("signing-key-gc", config.counterGcInterval, dropRetiredKeys, signal, logger);
      if (certificates) {
        const interval = Math.min(60_000, Math.max(1000, config.certRenewBefore / 4));
        void every("certificates", interval, () => certificates.reconcile(), signal, logger);
      }
    },
  };
}

/**
 * While a retired key still signs a live run, a bucketed reconciler lists every admitted run's metadata
 * to see whether it still does: at most once an hour, not every round of the collector.
 */
const keyUseListIntervalMs = 3_600_000;

/**
 * How the collector learns which keys live runs were signed with: from the cache when it holds every
 * admitted run (--buckets 1), else (a replica caches only its buckets' runs) from a paged listing of
 * their metadata. Undefined where no key may be dropped: a reconciler scoped to some namespaces
 * (--watch-namespaces) cannot see the runs the webhook signed elsewhere.
 */
function keysInUseSource(
  context: ServiceContext,
  runs: { cache: Pick<ObjectCache<PipelineRun>, "synced">; genuine: ObjectCache<PipelineRun> },
): KeysInUse | undefined {
  const { config } = context;
  if (config.watchNamespaces.length > 0) return undefined;
  if (config.buckets === 1) return keysInUseCached(runs);
  const http = context.shared.kubeHttp;
  const path = resourcePath(pipelineRunResource, "");
  return keysInUseListed({
    list: (labelSelector) => listMetadata(http, path, { labelSelector, pageSize: 500 }),
    minIntervalMs: keyUseListIntervalMs,
  });
}
