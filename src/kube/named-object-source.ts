import { CoreV1Api, type KubeConfig, type V1ConfigMap, type V1Secret } from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.ts";
import { Informer, type InformerSource } from "./informer.ts";

export type CachedSecret = V1Secret & { metadata: NonNullable<V1Secret["metadata"]> };
export type CachedConfigMap = V1ConfigMap & { metadata: NonNullable<V1ConfigMap["metadata"]> };

/**
 * List-and-watch access to one named object of the core API (a field selector on metadata.name, which
 * RBAC can grant by resourceNames), for an Informer.
 */
function namedObjectSource(
  kubeConfig: KubeConfig,
  resource: "secrets" | "configmaps",
  namespace: string,
  name: string,
): InformerSource {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const fieldSelector = `metadata.name=${name}`;
  return {
    path: () =>
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/${resource}?fieldSelector=${encodeURIComponent(fieldSelector)}`,
    async list() {
      const list =
        resource === "secrets"
          ? await api.listNamespacedSecret({ namespace, fieldSelector })
          : await api.listNamespacedConfigMap({ namespace, fieldSelector });
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? "" };
    },
  };
}

/** An Informer on one named Secret of a namespace, kept as the API server sends it. */
export function secretInformer(options: {
  /** The informer's name, for logs. */
  name: string;
  kubeConfig: KubeConfig;
  namespace: string;
  secretName: string;
  resyncMs: number;
  logger: Logger;
}): Informer<CachedSecret> {
  return namedObjectInformer<CachedSecret>("secrets", options.secretName, options);
}

/** An Informer on one named ConfigMap of a namespace, kept as the API server sends it. */
export function configMapInformer(options: {
  name: string;
  kubeConfig: KubeConfig;
  namespace: string;
  configMapName: string;
  resyncMs: number;
  logger: Logger;
}): Informer<CachedConfigMap> {
  return namedObjectInformer<CachedConfigMap>("configmaps", options.configMapName, options);
}

function namedObjectInformer<T extends CachedSecret | CachedConfigMap>(
  resource: "secrets" | "configmaps",
  objectName: string,
  options: { name: string; kubeConfig: KubeConfig; namespace: string; resyncMs: number; logger: Logger },
): Informer<T> {
  return new Informer<T>({
    name: options.name,
    kubeConfig: options.kubeConfig,
    source: namedObjectSource(options.kubeConfig, resource, options.namespace, objectName),
    namespaces: [options.namespace],
    transform: (raw) => raw as T,
    resyncMs: options.resyncMs,
    logger: options.logger,
  });
}
