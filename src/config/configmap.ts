import { type Setting, settings } from "./settings.ts";

/** Settings the Deployment sets per pod or that only the command line uses: not in the ConfigMap. */
const notInConfigMap = new Set(["kubeconfig", "namespace", "instance-id", "output"]);

/** In-cluster values that differ from the defaults. */
export const inClusterValues: Record<string, string> = {
  "tls-secret": "tekton-lineage-tls",
  "manage-certificates": "true",
};

function quote(value: string): string {
  return JSON.stringify(value);
}

/**
 * The ConfigMap of webhook-config/base: every setting the Deployment reads (envFrom), with its default
 * (or its in-cluster value) and what it does. Rendered from the settings table, so it cannot drift.
 */
export function renderConfigMap(): string {
  const lines = [
    "# Generated from src/config/settings.ts by `make configmap`; edit values here, descriptions there.",
    "# Every setting of tekton-lineage with its default (see `tekton-lineage --help`).",
    "apiVersion: v1",
    "kind: ConfigMap",
    "metadata:",
    "  name: tekton-lineage",
    "  namespace: tekton-lineage",
    "  labels:",
    "    app.kubernetes.io/name: tekton-lineage",
    "data:",
  ];
  for (const s of Object.values(settings) as Setting<unknown>[]) {
    if (notInConfigMap.has(s.flag)) continue;
    const value = inClusterValues[s.flag] ?? s.default ?? "";
    const note =
      inClusterValues[s.flag] !== undefined ? ` (default: ${s.default === "" ? "empty" : s.default})` : "";
    lines.push(`  # --${s.flag}: ${s.description}${note}`.replace(/\s+$/, ""));
    lines.push(`  ${s.env}: ${quote(value)}`);
  }
  return `${lines.join("\n")}\n`;
}

if (process.argv[1]?.endsWith("configmap.ts")) process.stdout.write(renderConfigMap());
