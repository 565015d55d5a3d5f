import { AppsV1Api, type KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { apiFailure } from "./api-errors.ts";

/** The pod template annotation whose change rolls a Deployment (as Helm charts' checksum/config). */
export const settingsChecksumKey = "tekton-lineage.io/settings-checksum";

/**
 * Rolls a Deployment by writing `checksum` into its pod template's annotations, unless it is there
 * already (a rollout for it happened or is under way). The patch carries the resourceVersion read, so a
 * Deployment changed meanwhile is left for the next look ("changed").
 */
export async function rollDeployment(
  kubeConfig: KubeConfig,
  namespace: string,
  name: string,
  checksum: string,
): Promise<"rolled" | "unchanged" | "changed" | "missing"> {
  const api = kubeConfig.makeApiClient(AppsV1Api);
  let deployment: Awaited<ReturnType<AppsV1Api["readNamespacedDeployment"]>>;
  try {
    deployment = await api.readNamespacedDeployment({ name, namespace });
  } catch (error) {
    if (apiFailure(error).code === 404) return "missing";
    throw error;
  }
  if (deployment.spec?.template.metadata?.annotations?.[settingsChecksumKey] === checksum) return "unchanged";
  try {
    await api.patchNamespacedDeployment(
      {
        name,
        namespace,
        body: {
          metadata: { resourceVersion: deployment.metadata?.resourceVersion },
          spec: { template: { metadata: { annotations: { [settingsChecksumKey]: checksum } } } },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    return "rolled";
  } catch (error) {
    if (apiFailure(error).code === 409) return "changed";
    throw error;
  }
}
