import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { apiFailure } from "./api-errors.ts";

/**
 * Whether a Secret exists: true, false (404), or undefined when tekton-lineage may not read Secrets in
 * that namespace (403: the namespace did not grant the Repository tokens role), so nobody can tell.
 */
export function secretExistence(kubeConfig: KubeConfig) {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return async (namespace: string, name: string): Promise<boolean | undefined> => {
    try {
      await api.readNamespacedSecret({ namespace, name });
      return true;
    } catch (error) {
      const code = apiFailure(error).code;
      if (code === 404) return false;
      if (code === 403) return undefined;
      throw error;
    }
  };
}
