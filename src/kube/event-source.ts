import { CoreV1Api, type CoreV1Event, type KubeConfig } from "@kubernetes/client-node";
import type { InformerSource } from "./informer.ts";

export type CachedEvent = CoreV1Event & { metadata: NonNullable<CoreV1Event["metadata"]> };

/** List-and-watch access to Events (narrowed by the informer's field selector), for an Informer. */
export function eventSource(kubeConfig: KubeConfig): InformerSource {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return {
    path: (namespace) =>
      namespace ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/events` : "/api/v1/events",
    async list(namespace, options) {
      const query = {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.limit,
        _continue: options.continueToken,
      };
      const list = namespace
        ? await api.listNamespacedEvent({ namespace, ...query })
        : await api.listEventForAllNamespaces(query);
      return {
        items: list.items,
        resourceVersion: list.metadata?.resourceVersion ?? "",
        continueToken: list.metadata?._continue,
      };
    },
  };
}
