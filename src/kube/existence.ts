import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { apiFailure } from "./api-errors.ts";
import type { CustomResource } from "./custom-objects.ts";

/** Whether an object exists: true, false (404), or undefined when tekton-lineage may not read it (403). */
export type Existence = (namespace: string, name: string) => Promise<boolean | undefined>;

async function existenceOf(read: () => Promise<unknown>): Promise<boolean | undefined> {
  try {
    await read();
    return true;
  } catch (error) {
    const code = apiFailure(error).code;
    if (code === 404) return false;
    if (code === 403) return undefined;
    throw error;
  }
}

/**
 * Whether a Secret exists; undefined where the namespace did not grant the Repository tokens role, so
 * nobody can tell.
 */
export function secretExistence(kubeConfig: KubeConfig): Existence {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return (namespace, name) => existenceOf(() => api.readNamespacedSecret({ namespace, name }));
}

/** Whether a custom object exists, read from the API server (not a cache). */
export function customObjectExistence(kubeConfig: KubeConfig, resource: CustomResource): Existence {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  return (namespace, name) =>
    existenceOf(() => api.getNamespacedCustomObject({ ...resource, namespace, name }));
}
