import type { KubeConfig } from "@kubernetes/client-node";
import { bindRole } from "./users.ts";

/**
 * Lets tekton-lineage read the Repository tokens of one namespace, as the install documents:
 * a RoleBinding of the tekton-lineage-repository-tokens ClusterRole to its ServiceAccount.
 */
export async function grantRepositoryTokens(kubeConfig: KubeConfig, namespace: string): Promise<void> {
  await bindRole(kubeConfig, namespace, {
    name: "tekton-lineage-repository-tokens",
    role: { kind: "ClusterRole", name: "tekton-lineage-repository-tokens" },
    subject: { kind: "ServiceAccount", name: "tekton-lineage", namespace: "tekton-lineage" },
  });
}
