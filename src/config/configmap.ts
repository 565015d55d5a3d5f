import { type Setting, settings } from "./settings.ts";

/** Settings the Deployment sets per pod or that only the command line uses: not in the ConfigMap. */
export const notInConfigMap = new Set(["kubeconfig", "namespace", "instance-id", "output"]);

/** In-cluster values that differ from the defaults. */
export const inClusterValues: Record<string, string> = {
  "tls-secret": "tekton-lineage-tls",
  "manage-certificates": "true",
  "settings-configmap": "tekton-lineage",
  "rollout-deployment": "tekton-lineage",
};

/** Every setting the ConfigMap holds, in the settings table's order. */
export const configMapSettings = (Object.values(settings) as Setting<unknown>[]).filter(
  (s) => !notInConfigMap.has(s.flag),
);

/** A setting's value in the release: its in-cluster value, else its default. */
export function releaseValue(s: Setting<unknown>): string {
  return inClusterValues[s.flag] ?? s.default ?? "";
}

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
  for (const s of configMapSettings) {
    const value = releaseValue(s);
    const note =
      inClusterValues[s.flag] !== undefined ? ` (default: ${s.default === "" ? "empty" : s.default})` : "";
    lines.push(`  # --${s.flag}: ${s.description}${note}`.replace(/\s+$/, ""));
    lines.push(`  ${s.env}: ${quote(value)}`);
  }
  return `${lines.join("\n")}\n`;
}

/** docs/settings.md: every setting, its flag, variable, default and in-cluster value. */
export function renderSettingsDoc(): string {
  const rows = (Object.values(settings) as Setting<unknown>[]).map((s) => {
    const shown = s.defaultText ?? (s.default === "" ? "(empty)" : (s.default ?? ""));
    const cluster =
      inClusterValues[s.flag] !== undefined ? ` In the release: \`${inClusterValues[s.flag]}\`.` : "";
    const cell = (text: string) => text.replaceAll("|", "\\|");
    const live = s.live ? " **Live**: applied without a restart." : "";
    return `| \`--${s.flag}\` | \`${s.env}\` | ${cell(shown)} | ${cell(s.description)}${cluster}${live} |`;
  });
  return [
    "# Settings",
    "",
    "Generated from `src/config/settings.ts` by `make configmap`. Every setting is a flag and an environment",
    "variable (the keys of the `tekton-lineage` ConfigMap, which the Deployment loads with `envFrom`).",
    "Flags win over the environment; the environment wins over defaults. A bad value stops the process",
    "with exit code 2 and a message naming the flag or variable.",
    "",
    "Changing the ConfigMap: the settings marked **Live** take effect in the running pods within seconds",
    "(they watch it, `--settings-configmap`); a change of any other makes the leader roll the Deployment",
    "(`--rollout-deployment`) by writing a checksum of those settings into its pod template",
    "(`tekton-lineage.io/settings-checksum`), so the new pods start with them. A live value that does not",
    "parse is refused (a warning in the log) and the previous one kept.",
    "",
    "| Flag | Variable | Default | What it does |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
}

if (process.argv[1]?.endsWith("configmap.ts")) {
  process.stdout.write(process.argv[2] === "doc" ? renderSettingsDoc() : renderConfigMap());
}
