import { CoreV1Api, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import type { InformerSource } from "./informer.ts";

export type CachedSecret = V1Secret & { metadata: NonNullable<V1Secret["metadata"]> };

/** List-and-watch access to one named Secret (a field selector), for an Informer. */
export function secretSource(kubeConfig: KubeConfig, namespace: string, name: string): InformerSource {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const fieldSelector = `metadata.name=${name}`;
  return {
    path: () =>
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets?fieldSelector=${encodeURIComponent(fieldSelector)}`,
    async list() {
      const list = await api.listNamespacedSecret({ namespace, fieldSelector });
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? "" };
    },
  };
}
