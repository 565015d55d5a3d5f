import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { e2eContext } from "./context.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));

/** `kubectl kustomize webhook-config/overlays/<overlay>`, the YAML `make release` ships. */
export function renderOverlay(overlay: string): string {
  return execFileSync(e2eContext().kubectl, ["kustomize", `${root}webhook-config/overlays/${overlay}`], {
    encoding: "utf8",
  });
}

/** `kubectl apply --server-side` of YAML, as the admin; `dryRun` validates it without persisting. */
export function kubectlApply(yaml: string, options: { dryRun?: boolean } = {}): string {
  const { kubectl, kubeconfig } = e2eContext();
  return execFileSync(
    kubectl,
    [
      "apply",
      "--server-side",
      "--field-manager=tekton-lineage-e2e",
      "--force-conflicts",
      ...(options.dryRun ? ["--dry-run=server"] : []),
      `--kubeconfig=${kubeconfig}`,
      "-f",
      "-",
    ],
    { input: yaml, encoding: "utf8" },
  );
}
