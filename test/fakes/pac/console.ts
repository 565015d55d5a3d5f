/**
 * PaC's ConsoleUI (pkg/consoleui), chosen from its ConfigMap as pkg/params/run.go, WatchConfigMapChanges,
 * chooses it: a custom console when custom-console-url is set, else the Tekton Dashboard when
 * tekton-dashboard-url is set, else the OpenShift console when its route exists (never here), else
 * FallBackConsole.
 */
export interface ConsoleUI {
  /** URL(): the console's root. */
  url(): string;
  /** DetailURL(pr). */
  detailUrl(namespace: string, name: string): string;
}

/** pkg/consoleui/custom.go, CustomConsole. */
function customConsole(root: string, detail: string | undefined): ConsoleUI {
  const url = () => root || "https://url.setting.custom-console-url.is.not.configured";
  return {
    url,
    detailUrl(namespace, name) {
      if (!detail) return "https://detailurl.setting.custom-console-url-pr-details.is.not.configured";
      // generateURL: templates.ReplacePlaceHoldersVariables, trimmed; not a URL or a {{ }} left → URL().
      const filled = detail
        .replace(/\{\{\s*namespace\s*\}\}/g, namespace)
        .replace(/\{\{\s*pr\s*\}\}/g, name)
        .trim();
      if (!URL.canParse(filled) || /\{\{[^}]*\}\}/.test(filled)) return url();
      return filled;
    },
  };
}

/** pkg/consoleui/tektondashboard.go, TektonDashboard. */
function tektonDashboard(base: string): ConsoleUI {
  const url = () =>
    !base || base === "http://" || base === "https://" ? "https://dashboard.url.is.not.configured" : base;
  return { url, detailUrl: (namespace, name) => `${url()}/#/namespaces/${namespace}/pipelineruns/${name}` };
}

/** pkg/consoleui/interface.go, FallBackConsole. */
const fallBack: ConsoleUI = {
  url: () => "https://dashboard.is.not.configured",
  detailUrl: () => "https://dashboard.is.not.configured",
};

export function consoleFromConfig(data: Record<string, string>): ConsoleUI {
  if (data["custom-console-url"])
    return customConsole(data["custom-console-url"], data["custom-console-url-pr-details"]);
  if (data["tekton-dashboard-url"]) return tektonDashboard(data["tekton-dashboard-url"]);
  return fallBack;
}
