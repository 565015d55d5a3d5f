import { applyManifests, renderOverlay as render } from "../controlplane/release.ts";
import { e2eContext } from "./context.ts";

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
