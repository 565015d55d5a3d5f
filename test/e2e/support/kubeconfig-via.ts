import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { adminKubeConfig, e2eContext } from "./context.ts";

/** The API server's loopback port, from the admin kubeconfig. */
export function apiServerPort(): number {
  const url = new URL(adminKubeConfig().getCurrentCluster()?.server ?? "");
  if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) {
    throw new Error(
      `the API server is not on loopback (${url.hostname}); a local proxy cannot stand in front of it`,
    );
  }
  return Number(url.port || 443);
}

/** A copy of tekton-lineage's kubeconfig that reaches the API server through a local port (a proxy). */
export function kubeconfigThrough(port: number, name: string): string {
  const lineage = new KubeConfig();
  lineage.loadFromFile(e2eContext().lineageKubeconfig);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: lineage.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${port}` })),
    contexts: lineage.contexts,
    currentContext: lineage.currentContext,
    users: lineage.users,
  });
  const file = join(e2eContext().logDir, `${name}.kubeconfig`);
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  return file;
}
