import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { KubeConfig, RbacAuthorizationV1Api, type RbacV1Subject } from "@kubernetes/client-node";
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
  await bindRole(adminKubeConfig(), namespace, {
    name: `pipelinerun-editor-${user}`,
    role: { kind: "Role", name: "pipelinerun-editor" },
    subject: userSubject(user),
  });
}

/** A user, as a RoleBinding names one. */
export const userSubject = (name: string): RbacV1Subject => ({
  apiGroup: "rbac.authorization.k8s.io",
  kind: "User",
  name,
});

/** A RoleBinding in `namespace` of a Role or ClusterRole to one subject. */
export async function bindRole(
  kubeConfig: KubeConfig,
  namespace: string,
  binding: { name: string; role: { kind: "Role" | "ClusterRole"; name: string }; subject: RbacV1Subject },
): Promise<void> {
  await kubeConfig.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: binding.name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", ...binding.role },
      subjects: [binding.subject],
    },
  });
}
