import { CertificateManager, servingNames } from "../certs/manager.ts";
import { every } from "../core/periodic.ts";
import type { PipelineRun } from "../core/tekton.ts";
import type { ObjectCache } from "../kube/informer.ts";
import { dropUnusedKeys } from "../kube/signing-keys.ts";
import { signingKeysInUse } from "../lineage/genuine-runs.ts";
import type { ServiceContext } from "./service.ts";

/**
 * The leader's housekeeping of the install itself: the serving certificate and its CA bundle, and the
 * signing keys no live run was signed with. The keys are dropped only by a reconciler that sees every
 * run (`runs` is undefined otherwise: a scoped or bucketed reconciler would call others' keys unused).
 */
export function createHousekeeping(
  context: ServiceContext,
  options: { runs?: { cache: Pick<ObjectCache<PipelineRun>, "synced">; genuine: ObjectCache<PipelineRun> } },
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
  const runs = options.runs;
  const dropRetiredKeys = async () => {
    if (!runs?.cache.synced) return;
    const inUse = signingKeysInUse(runs.genuine.list());
    const dropped = await dropUnusedKeys(
      kubeConfig,
      namespace,
      config.signingSecret,
      inUse,
      2 * config.claimMaxAge,
    );
    if (dropped.length > 0)
      logger.info({ keys: dropped }, "dropped retired signing keys no live run was signed with");
  };
  return {
    run(signal) {
      if (runs) void every("signing-key-gc", config.counterGcInterval, dropRetiredKeys, signal, logger);
      if (certificates) {
        const interval = Math.min(60_000, Math.max(1000, config.certRenewBefore / 4));
        void every("certificates", interval, () => certificates.reconcile(), signal, logger);
      }
    },
  };
}
