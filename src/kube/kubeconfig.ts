import { existsSync, readFileSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";

const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

export function runningInCluster(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync(`${serviceAccountDir}/token`);
}

/** An explicit file first; then the in-cluster service account; then $KUBECONFIG or ~/.kube/config. */
export function loadKubeConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else if (runningInCluster(env)) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) {
    throw new Error(
      "no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a cluster",
    );
  }
  return kc;
}

/** The namespace that holds tekton-lineage's own objects. */
export function ownNamespace(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (configured) return configured;
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  const file = `${serviceAccountDir}/namespace`;
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  return "tekton-lineage";
}
