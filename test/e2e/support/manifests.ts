import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { scriptValues } from "../controlplane/binaries.ts";
import { applyManifests, renderOverlay as render } from "../controlplane/release.ts";
import { e2eContext } from "./context.ts";
import { eventually } from "./poll.ts";

/** `kubectl kustomize webhook-config/overlays/<overlay>`, the YAML `make release` ships. */
export function renderOverlay(overlay: string): string {
  return render(e2eContext().kubectl, overlay);
}

/** `kubectl apply --server-side` of YAML, as the admin; `dryRun` validates it without persisting. */
export function kubectlApply(
  yaml: string,
  options: { dryRun?: boolean; fieldManager?: string } = {},
): string {
  const { kubectl, kubeconfig } = e2eContext();
  return applyManifests(kubectl, kubeconfig, yaml, options);
}

/** The NetworkPolicy's required setting, as an overlay sets it (the release ships a placeholder). */
export const podCidrPlaceholder = "SET-YOUR-POD-CIDR";

/** Release YAML with the pod network set (the local control plane has none; kind's is the default). */
export function withPodCidr(yaml: string, cidr = "10.244.0.0/16"): string {
  return yaml.replaceAll(podCidrPlaceholder, cidr);
}

/** An overlay with Components added, as a user's own overlay combines them (release/kustomize.ts). */
export { renderWithComponents } from "../../../release/kustomize.ts";

/**
 * The release's webhook configurations under another name, for a dry run: tests register the real name
 * by URL, and an apply would merge into that object instead of checking the release's own.
 */
export function withCheckNames(yaml: string): string {
  return yaml.replace(
    /(kind: (?:Mutating|Validating)WebhookConfiguration\nmetadata:\n(?: {2}.*\n)*? {2}name: )tekton-lineage$/gm,
    "$1tekton-lineage-release-check",
  );
}

/**
 * Installs the CRDs of the add-ons the install components are written for (the Prometheus Operator's,
 * cert-manager's; test/e2e/controlplane/addon-crds.sh), and waits until the API server serves them.
 */
export async function installAddonCrds(): Promise<void> {
  const { values } = await scriptValues(
    fileURLToPath(new URL("../controlplane/addon-crds.sh", import.meta.url)),
  );
  for (const dir of [values.MONITORING_CRDS ?? "", values.CERT_MANAGER_CRDS ?? ""])
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml")))
      kubectlApply(readFileSync(join(dir, file), "utf8"), { fieldManager: "tekton-lineage-e2e" });
  const { kubectl, kubeconfig } = e2eContext();
  await eventually("the add-ons' CRDs are served", () => {
    const served = execFileSync(kubectl, ["api-resources", `--kubeconfig=${kubeconfig}`], {
      encoding: "utf8",
    });
    return ["podmonitors", "prometheusrules", "certificates", "issuers"].every((plural) =>
      served.includes(plural),
    );
  });
}
