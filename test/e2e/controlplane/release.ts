import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  CoreV1Api,
  type KubeConfig,
  loadAllYaml,
  KubeConfig as NewKubeConfig,
} from "@kubernetes/client-node";

/**
 * tekton-lineage installed as a user installs it: an overlay rendered by kustomize, applied server-side,
 * and the process authenticated as the ServiceAccount the manifests create, as its pod would be.
 */
const root = fileURLToPath(new URL("../../../", import.meta.url));

/** `kubectl kustomize webhook-config/overlays/<overlay>`, the YAML `make release` ships. */
export function renderOverlay(kubectl: string, overlay: string): string {
  return execFileSync(kubectl, ["kustomize", `${root}webhook-config/overlays/${overlay}`], {
    encoding: "utf8",
  });
}

/** `kubectl apply --server-side` of YAML; `dryRun` validates it without persisting. Returns kubectl's output. */
export function applyManifests(
  kubectl: string,
  kubeconfig: string,
  yaml: string,
  options: { dryRun?: boolean; fieldManager?: string } = {},
): string {
  return execFileSync(
    kubectl,
    [
      "apply",
      "--server-side",
      `--field-manager=${options.fieldManager ?? "tekton-lineage-install"}`,
      "--force-conflicts",

      ...(options.dryRun ? ["--dry-run=server"] : []),
      `--kubeconfig=${kubeconfig}`,
      "-f",
      "-",
    ],
    { input: yaml, encoding: "utf8" },
  );
}

/** The manifests without the webhook configurations (for tests that register their own, scoped ones). */
export function withoutWebhookConfigurations(yaml: string): string {
  return yaml
    .split(/^---$/m)
    .filter((doc) => !/kind: (Mutating|Validating)WebhookConfiguration/.test(doc))
    .join("---\n");
}

/** The settings of the manifests' ConfigMap, as the Deployment loads them into the environment. */
export function configMapSettings(yaml: string): Record<string, string> {
  const docs = loadAllYaml(yaml) as { kind?: string; data?: Record<string, string> }[];
  return docs.find((d) => d.kind === "ConfigMap")?.data ?? {};
}

/**
 * Writes a kubeconfig that authenticates as a ServiceAccount with a token from the TokenRequest API, as a
 * pod of that ServiceAccount would be.
 */
export async function writeServiceAccountKubeconfig(
  admin: KubeConfig,
  file: string,
  account: { namespace: string; name: string; expirationSeconds?: number } = {
    namespace: "tekton-lineage",
    name: "tekton-lineage",
  },
): Promise<string> {
  const request = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: account.name,
    namespace: account.namespace,
    body: { spec: { expirationSeconds: account.expirationSeconds ?? 86_400 } },
  });
  const user = `${account.namespace}-${account.name}`;
  const kc = new NewKubeConfig();
  kc.loadFromOptions({
    clusters: admin.clusters,
    contexts: [{ name: user, cluster: admin.getCurrentCluster()?.name ?? "", user }],
    currentContext: user,
    users: [{ name: user, token: request.status?.token }],
  });
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  return file;
}
