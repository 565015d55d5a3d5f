import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { adminKubeConfig, e2eContext } from "./context.ts";

/** The admin's kubeconfig, acting as another user through impersonation (works on any cluster). */
export function kubeConfigAs(user: string): KubeConfig {
  const admin = adminKubeConfig();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: admin.clusters,
    contexts: admin.contexts,
    currentContext: admin.currentContext,
    users: admin.users.map((u) => ({ ...u, impersonateUser: user })),
  });
  return kc;
}

/** A kubeconfig file for that user (for processes and kubectl). */
export function kubeconfigFileAs(user: string, name: string): string {
  const file = join(e2eContext().logDir, `${name}.kubeconfig`);
  writeFileSync(file, kubeConfigAs(user).exportConfig(), { mode: 0o600 });
  return file;
}

/** Lets `user` create, read and edit PipelineRuns in one namespace, as a developer would be allowed to. */
export async function grantPipelineRunAccess(namespace: string, user: string): Promise<void> {
  const api = adminKubeConfig().makeApiClient(RbacAuthorizationV1Api);
  await api.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: "pipelinerun-editor" },
      rules: [
        {
          apiGroups: ["tekton.dev"],
          resources: ["pipelineruns"],
          verbs: ["create", "get", "list", "watch", "update", "patch", "delete"],
        },
      ],
    },
  });
  await api.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: `pipelinerun-editor-${user}` },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pipelinerun-editor" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
    },
  });
}
