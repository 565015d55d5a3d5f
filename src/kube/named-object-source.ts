import { CoreV1Api, type KubeConfig, type V1ConfigMap, type V1Secret } from "@kubernetes/client-node";
import type { InformerSource } from "./informer.ts";

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

/** One named Secret. */
export function secretSource(kubeConfig: KubeConfig, namespace: string, name: string): InformerSource {
  return namedObjectSource(kubeConfig, "secrets", namespace, name);
}

/** One named ConfigMap. */
export function configMapSource(kubeConfig: KubeConfig, namespace: string, name: string): InformerSource {
  return namedObjectSource(kubeConfig, "configmaps", namespace, name);
}
