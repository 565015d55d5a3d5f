import { type KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";

/**
 * Lets tekton-lineage read the Repository tokens of one namespace, as the install documents:
 * a RoleBinding of the tekton-lineage-repository-tokens ClusterRole to its ServiceAccount.
 */
export async function grantRepositoryTokens(kubeConfig: KubeConfig, namespace: string): Promise<void> {
  await kubeConfig.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: "tekton-lineage-repository-tokens" },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "tekton-lineage-repository-tokens",
      },
      subjects: [{ kind: "ServiceAccount", name: "tekton-lineage", namespace: "tekton-lineage" }],
    },
  });
}
