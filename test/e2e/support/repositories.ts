import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { repositoryResource } from "../../../src/core/repository.ts";

const base = {
  group: repositoryResource.group,
  version: repositoryResource.version,
  plural: repositoryResource.plural,
};

/** Creates a PaC Repository CR. */
export async function createRepository(
  kubeConfig: KubeConfig,
  options: {
    namespace: string;
    name: string;
    url?: string;
    annotations?: Record<string, string>;
    concurrencyLimit?: number;
    gitProvider?: {
      url?: string;
      type?: string;
      secret?: { name: string; key?: string };
      webhook_secret?: { name: string; key?: string };
    };
  },
): Promise<void> {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  await api.createNamespacedCustomObject({
    ...base,
    namespace: options.namespace,
    body: {
      apiVersion: `${repositoryResource.group}/${repositoryResource.version}`,
      kind: "Repository",
      metadata: { name: options.name, namespace: options.namespace, annotations: options.annotations ?? {} },
      spec: {
        url: options.url ?? `https://gitlab.example/demo/${options.name}`,
        ...(options.concurrencyLimit ? { concurrency_limit: options.concurrencyLimit } : {}),
        ...(options.gitProvider ? { git_provider: options.gitProvider } : {}),
      },
    },
  });
}

export async function annotateRepository(
  kubeConfig: KubeConfig,
  namespace: string,
  name: string,
  annotations: Record<string, string | null>,
): Promise<void> {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  await api.patchNamespacedCustomObject(
    { ...base, namespace, name, body: { metadata: { annotations } } },
    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  );
}
