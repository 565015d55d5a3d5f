import {
  parseDuration,
  parseHttpUrl,
  parseLinkTemplate,
  parseList,
  parseOneOf,
  parsePositiveInteger,
  parseSecretRef,
  parseText,
  type SecretRef,
  SettingError,
} from "./parsers.ts";
import { setting } from "./setting.ts";

/** GitLab status: where to report, with which token, how often, with which links. */
export const gitlabSettings = {
  gitlabUrl: setting({
    flag: "gitlab-url",
    env: "TEKTON_LINEAGE_GITLAB_URL",
    default: "",
    defaultText: "each Repository's spec.git_provider.url, else its spec.url's host",
    description: "GitLab to report to when the Repository names none, e.g. https://gitlab.example.",
    parse: parseHttpUrl,
  }),
  gitlabTokenSecret: setting({
    flag: "gitlab-token-secret",
    env: "TEKTON_LINEAGE_GITLAB_TOKEN_SECRET",
    default: "",
    defaultText: "each Repository's spec.git_provider.secret",
    description:
      "Token Secret when the Repository names none, as namespace/name:key (key defaults to provider.token).",
    parse: parseSecretSetting,
  }),
  gitlabTokenNamespaces: setting({
    flag: "gitlab-token-namespaces",
    env: "TEKTON_LINEAGE_GITLAB_TOKEN_NAMESPACES",
    default: "",
    defaultText: "none",
    description:
      "Namespaces (comma-separated) whose runs may be reported with the --gitlab-token-secret token when their Repository names no token of its own. In any other namespace such runs are not reported: a tenant never gets the shared token used for it by default.",
    parse: parseList,
  }),
  gitlabHosts: setting({
    flag: "gitlab-hosts",
    env: "TEKTON_LINEAGE_GITLAB_HOSTS",
    default: "",
    defaultText: "none: only --gitlab-url's host",
    description:
      "GitLab hosts (host or host:port, comma-separated) a Repository's token may be sent to, besides --gitlab-url's. A Repository naming another host is refused (an Event on it) and the host is never contacted; the --gitlab-token-secret token only ever goes to --gitlab-url's host.",
    parse: parseList,
  }),
  gitlabTokenCache: setting({
    flag: "gitlab-token-cache",
    env: "TEKTON_LINEAGE_GITLAB_TOKEN_CACHE",
    default: "1m",
    description:
      "How long a token read from its Secret is used before the Secret is read again; a token GitLab refuses (401/403) is read again at once.",
    parse: parseDuration,
  }),
  gitlabApplication: setting({
    flag: "gitlab-application",
    env: "TEKTON_LINEAGE_GITLAB_APPLICATION",
    default: "",
    defaultText: 'PaC\'s application-name (its ConfigMap), else "Pipelines as Code CI"',
    description:
      "Application name that starts every status name; set it only when PaC's ConfigMap cannot be read (Konflux sets its own, e.g. Konflux Production Internal).",
    parse: parseText,
  }),
  pacNamespace: setting({
    flag: "pac-namespace",
    env: "TEKTON_LINEAGE_PAC_NAMESPACE",
    default: "pipelines-as-code",
    description:
      "Namespace of Pipelines-as-Code's ConfigMap (openshift-pipelines on OpenShift Pipelines), watched for its application name and console links; empty: not read.",
    parse: parseText,
  }),
  pacGlobalRepository: setting({
    flag: "pac-global-repository",
    env: "TEKTON_LINEAGE_PAC_GLOBAL_REPOSITORY",
    default: "pipelines-as-code",
    description:
      "Name of Pipelines-as-Code's global Repository in --pac-namespace (PAC_CONTROLLER_GLOBAL_REPOSITORY): a concurrency_limit set there is inherited by every Repository that sets none, and PaC enforces it.",
    parse: parseText,
  }),
  orphanedRuns: setting({
    flag: "orphaned-runs",
    env: "TEKTON_LINEAGE_ORPHANED_RUNS",
    default: "adopt",
    description:
      "A run the API server stored although PaC was told its create failed (or could not report it) is never taken over by PaC: adopt hands it to PaC's watcher (its state and log-url, as startPR would have written them); cancel stops it.",
    parse: parseOneOf(["adopt", "cancel"] as const),
  }),
  orphanGrace: setting({
    flag: "orphan-grace",
    env: "TEKTON_LINEAGE_ORPHAN_GRACE",
    default: "60s",
    description: "How long after its admission a run PaC has not taken over counts as orphaned.",
    parse: parseDuration,
  }),
  pacConfigMap: setting({
    flag: "pac-configmap",
    env: "TEKTON_LINEAGE_PAC_CONFIGMAP",
    default: "pipelines-as-code",
    description: "Name of Pipelines-as-Code's ConfigMap (the RBAC rule names it too).",
    parse: parseText,
  }),
  gitlabContext: setting({
    flag: "gitlab-context",
    env: "TEKTON_LINEAGE_GITLAB_CONTEXT",
    default: "{application} / {pipeline}",
    description:
      "Status name template ({application}, {pipeline} = original-prname); PaC's by default, so tekton-lineage updates PaC's status rather than adding one.",
    parse: parseText,
  }),
  consoleUrl: setting({
    flag: "console-url",
    env: "TEKTON_LINEAGE_CONSOLE_URL",
    default: "",
    defaultText: "PaC's: the run's log-url, else its ConfigMap's Tekton Dashboard or custom console",
    description:
      "Link to a PipelineRun, like PaC's custom-console-url-pr-details: https://console.example/ns/{{ namespace }}/pipelinerun/{{ pr }}. Wins over PaC's links.",
    parse: parseLinkTemplate,
    live: true,
  }),
  errorUrl: setting({
    flag: "error-url",
    env: "TEKTON_LINEAGE_ERROR_URL",
    default: "",
    defaultText: "none (the status says what failed, with no link)",
    description:
      "Link for an attempt that was never created ({{ namespace }}, {{ pr }}, {lineage}), e.g. a log search.",
    parse: parseLinkTemplate,
    live: true,
  }),
  creationGrace: setting({
    flag: "creation-grace",
    env: "TEKTON_LINEAGE_CREATION_GRACE",
    default: "30s",
    description: "An admitted attempt not created within this long is reported as a failed creation.",
    parse: parseDuration,
    live: true,
  }),
  gitlabResync: setting({
    flag: "gitlab-resync",
    env: "TEKTON_LINEAGE_GITLAB_RESYNC",
    default: "2m",
    description:
      "How often GitLab is read again for a lineage in progress, to repair what another writer changed.",
    parse: parseDuration,
    live: true,
  }),
  gitlabTimeout: setting({
    flag: "gitlab-timeout",
    env: "TEKTON_LINEAGE_GITLAB_TIMEOUT",
    default: "10s",
    description: "Timeout of one GitLab request.",
    parse: parseDuration,
  }),
  gitlabMaxRepairs: setting({
    flag: "gitlab-max-repairs",
    env: "TEKTON_LINEAGE_GITLAB_MAX_REPAIRS",
    default: "3",
    description:
      "Repairs of one status allowed per 10 minutes against another writer, before tekton-lineage stops contesting it.",
    parse: parsePositiveInteger,
    live: true,
  }),
};

function parseSecretSetting(raw: string): SecretRef | undefined {
  if (raw.trim() === "") return undefined;
  const ref = parseSecretRef(raw);
  if (!ref) throw new SettingError(`expected namespace/name or namespace/name:key, got "${raw}"`);
  return ref;
}
