import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * kustomize's render of webhook-config/overlays/<overlay> with Components of webhook-config/components
 * added, as a user's own overlay combines them. test/e2e/controlplane/kustomize.sh picks the tool: a
 * kustomize or kubectl on the PATH, else the kubectl built from the Kubernetes modules.
 */
export function renderWithComponents(overlay: string, components: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "tekton-lineage-overlay-"));
  try {
    // kustomize takes no absolute paths: the overlay and Components are named from the temporary folder.
    const path = (p: string) => relative(dir, join(root, p));
    writeFileSync(
      join(dir, "kustomization.yaml"),
      [
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        `resources: [${path(`webhook-config/overlays/${overlay}`)}]`,
        `components: [${components.map((c) => path(`webhook-config/components/${c}`)).join(", ")}]`,
        "",
      ].join("\n"),
    );
    return execFileSync("bash", [join(root, "test/e2e/controlplane/kustomize.sh"), dir], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
