/**
 * What tekton-lineage needs of Pipelines-as-Code's own settings (its ConfigMap, `pipelines-as-code` by
 * default, in PaC's namespace): the application name that starts every status name, and how PaC links a
 * PipelineRun, so tekton-lineage corrects PaC's statuses rather than adding its own beside them.
 *
 * Read as PaC reads them (pkg/params/settings/config.go: ApplicationName defaults to "Pipelines as Code
 * CI"; pkg/params/run.go, WatchConfigMapChanges: a custom console when custom-console-url is set, else the
 * Tekton Dashboard when tekton-dashboard-url is set, else the OpenShift console if found, else a
 * fallback).
 */
export interface PacConfig {
  applicationName: string;
  console: PacConsole;
}

export type PacConsole =
  /** pkg/consoleui/custom.go: URL() = custom-console-url, DetailURL() from custom-console-url-pr-details. */
  | { kind: "custom"; root: string; detailTemplate: string }
  /** pkg/consoleui/tektondashboard.go: DetailURL() = <root>/#/namespaces/<ns>/pipelineruns/<name>. */
  | { kind: "dashboard"; root: string }
  /** The OpenShift console (its host is found at run time) or PaC's fallback: only the run's log-url says. */
  | { kind: "other" };

export const pacDefaultApplicationName = "Pipelines as Code CI";

/**
 * The links PaC posts when it has nothing better (pkg/consoleui): each console's URL() when unset, and
 * FallBackConsole's. A run's log-url equal to one of these names no run.
 */
const placeholderLinks = [
  "https://url.setting.custom-console-url.is.not.configured",
  "https://detailurl.setting.custom-console-url-pr-details.is.not.configured",
  "https://dashboard.url.is.not.configured",
  "https://openshift.url.is.not.configured",
  "https://dashboard.is.not.configured",
];

export const defaultPacConfig: PacConfig = {
  applicationName: pacDefaultApplicationName,
  console: { kind: "other" },
};

/** PaC's settings from its ConfigMap's data (undefined: the ConfigMap is absent or unreadable). */
export function readPacConfig(data: Record<string, string> | undefined): PacConfig {
  if (!data) return defaultPacConfig;
  const text = (key: string) => (data[key] ?? "").trim();
  const applicationName = text("application-name") || pacDefaultApplicationName;
  const custom = text("custom-console-url");
  const dashboard = text("tekton-dashboard-url");
  const console: PacConsole = custom
    ? { kind: "custom", root: custom, detailTemplate: text("custom-console-url-pr-details") }
    : dashboard && dashboard !== "http://" && dashboard !== "https://"
      ? { kind: "dashboard", root: dashboard.replace(/\/+$/, "") }
      : { kind: "other" };
  return { applicationName, console };
}

/**
 * The link PaC gives a run (ConsoleUI().DetailURL), when its settings alone say it; undefined for the
 * OpenShift console, whose host only PaC looks up.
 */
export function pacDetailUrl(config: PacConfig, namespace: string, name: string): string | undefined {
  const console = config.console;
  if (console.kind === "dashboard")
    return `${console.root}/#/namespaces/${encodeURIComponent(namespace)}/pipelineruns/${encodeURIComponent(name)}`;
  if (console.kind !== "custom" || !console.detailTemplate) return undefined;
  // custom.go, generateURL: {{ namespace }} and {{ pr }} filled; a result that is not a URL, or still holds
  // a {{ placeholder }}, falls back to the console's root, which names no run.
  const url = console.detailTemplate
    .replace(/\{\{\s*namespace\s*\}\}/g, namespace)
    .replace(/\{\{\s*pr\s*\}\}/g, name)
    .trim();
  if (/\{\{[^}]*\}\}/.test(url) || !URL.canParse(url)) return undefined;
  return url;
}

/** A link that names no run: a console's root or one of PaC's placeholders. */
export function namesNoRun(config: PacConfig, url: string): boolean {
  if (!url) return true;
  const trimmed = url.replace(/\/+$/, "");
  if (placeholderLinks.includes(trimmed)) return true;
  const console = config.console;
  return console.kind !== "other" && trimmed === console.root.replace(/\/+$/, "");
}
