import type { KubeConfig } from "@kubernetes/client-node";
import type { Informer } from "../kube/informer.ts";
import { type CachedConfigMap, configMapInformer } from "../kube/named-object-source.ts";
import type { Logger } from "../observability/logger.ts";
import { defaultPacConfig, type PacConfig, readPacConfig } from "./config.ts";

/**
 * PaC's ConfigMap, watched: its settings as they are now. Until it is read (or when it is absent, or
 * tekton-lineage may not read it), PaC's defaults — never a reason to stop reporting.
 */
export class PacConfigWatch {
  private readonly informer: Informer<CachedConfigMap> | undefined;
  private readonly name: string;
  private readonly namespace: string;

  constructor(options: {
    kubeConfig: KubeConfig;
    namespace: string;
    name: string;
    resyncMs: number;
    logger: Logger;
  }) {
    this.name = options.name;
    this.namespace = options.namespace;
    this.informer =
      options.namespace && options.name
        ? configMapInformer({
            name: "pac-configmap",
            kubeConfig: options.kubeConfig,
            namespace: options.namespace,
            configMapName: options.name,
            resyncMs: options.resyncMs,
            logger: options.logger,
          })
        : undefined;
  }

  /** PaC's settings now. */
  current(): PacConfig {
    const configMap = this.informer?.get(this.namespace, this.name);
    return configMap ? readPacConfig(configMap.data) : defaultPacConfig;
  }

  start(): void {
    this.informer?.start();
  }

  stop(): void {
    this.informer?.stop();
  }
}
