import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import type { InformerSource, ListPage } from "./informer.ts";

export interface CustomResource {
  group: string;
  version: string;
  plural: string;
}

export function resourcePath(resource: CustomResource, namespace: string): string {
  const scope = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `/apis/${resource.group}/${resource.version}${scope}/${resource.plural}`;
}

/** List-and-watch access to one custom resource, for an Informer. */
export function customResourceSource(kubeConfig: KubeConfig, resource: CustomResource): InformerSource {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  return {
    path: (namespace) => resourcePath(resource, namespace),
    async list(namespace, options): Promise<ListPage> {
      const common = {
        group: resource.group,
        version: resource.version,
        plural: resource.plural,
        labelSelector: options.labelSelector,
        limit: options.limit,
        _continue: options.continueToken,
      };
      const list = (
        namespace
          ? await api.listNamespacedCustomObject({ ...common, namespace })
          : await api.listClusterCustomObject(common)
      ) as { items?: unknown[]; metadata?: { resourceVersion?: string; continue?: string } };
      return {
        items: list.items ?? [],
        resourceVersion: list.metadata?.resourceVersion ?? "",
        continueToken: list.metadata?.continue,
      };
    },
  };
}
