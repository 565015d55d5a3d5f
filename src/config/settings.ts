import { hostname } from "node:os";
import {
  parseBoolean,
  parseBytes,
  parseDnsLabel,
  parseDuration,
  parseHostPort,
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
import { parseQueueRules } from "./queue-rules.ts";

/**
 * One setting: its flag, its environment variable (also the key in the ConfigMap that the Deployment
 * loads with envFrom), its default as a user would write it, what it does, and how it is parsed.
 * A setting without a default is optional and parses to undefined when absent.
 */
export interface Setting<T> {
  flag: string;
  env: string;
  default?: string;
  /** Shown instead of the default when the default is computed at start-up. */
  defaultText?: string;
  description: string;
  parse: (raw: string) => T;
}

function setting<const S extends Setting<unknown>>(spec: S): S {
  return spec;
}

export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace"] as const;

export const settings = {
  listen: setting({
    flag: "listen",
    env: "TEKTON_LINEAGE_LISTEN",
    default: "0.0.0.0:8443",
    description: "HOST:PORT the HTTPS server listens on (admission, health, metrics, queue view).",
    parse: parseHostPort,
  }),
  tlsCert: setting({
    flag: "tls-cert",
    env: "TEKTON_LINEAGE_TLS_CERT",
    default: "/etc/tekton-lineage/tls/tls.crt",
    description: "PEM serving certificate (chain). Reloaded when the file changes; no restart needed.",
    parse: parseText,
  }),
  tlsKey: setting({
    flag: "tls-key",
    env: "TEKTON_LINEAGE_TLS_KEY",
    default: "/etc/tekton-lineage/tls/tls.key",
    description: "PEM private key of the serving certificate. Reloaded together with --tls-cert.",
    parse: parseText,
  }),
  tlsSecret: setting({
    flag: "tls-secret",
    env: "TEKTON_LINEAGE_TLS_SECRET",
    default: "",
    defaultText: "none: serve the --tls-cert/--tls-key files",
    description:
      "Serve the certificate of this Secret (in --namespace; keys tls.crt, tls.key), watched so a rotation needs no restart. Until it exists, a temporary self-signed certificate answers probes.",
    parse: parseText,
  }),
  manageCertificates: setting({
    flag: "manage-certificates",
    env: "TEKTON_LINEAGE_MANAGE_CERTIFICATES",
    default: "false",
    description:
      "The reconciler leader creates the CA and serving certificate in --tls-secret, renews them before expiry, and writes the CA bundle into the webhook configurations.",
    parse: parseBoolean,
  }),
  serviceName: setting({
    flag: "service-name",
    env: "TEKTON_LINEAGE_SERVICE_NAME",
    default: "tekton-lineage",
    description: "The Service in front of the webhook; its DNS names go into the serving certificate.",
    parse: parseDnsLabel,
  }),
  extraSans: setting({
    flag: "extra-sans",
    env: "TEKTON_LINEAGE_EXTRA_SANS",
    default: "",
    defaultText: "none",
    description:
      "More DNS names or IPs for the serving certificate (comma-separated), e.g. 127.0.0.1 for webhooks by URL.",
    parse: parseList,
  }),
  certValidity: setting({
    flag: "cert-validity",
    env: "TEKTON_LINEAGE_CERT_VALIDITY",
    default: "2160h",
    description: "Lifetime of a serving certificate made by --manage-certificates (90 days).",
    parse: parseDuration,
  }),
  certRenewBefore: setting({
    flag: "cert-renew-before",
    env: "TEKTON_LINEAGE_CERT_RENEW_BEFORE",
    default: "720h",
    description: "Renew the serving certificate when it has less than this left (30 days).",
    parse: parseDuration,
  }),
  webhookConfigurations: setting({
    flag: "webhook-configurations",
    env: "TEKTON_LINEAGE_WEBHOOK_CONFIGURATIONS",
    default: "tekton-lineage",
    description:
      "Mutating and validating webhook configurations whose caBundle --manage-certificates keeps current.",
    parse: parseList,
  }),
  kubeconfig: setting({
    flag: "kubeconfig",
    env: "TEKTON_LINEAGE_KUBECONFIG",
    defaultText: "in-cluster service account, else $KUBECONFIG, else ~/.kube/config",
    description: "kubeconfig file of the cluster to serve.",
    parse: parseText,
  }),
  namespace: setting({
    flag: "namespace",
    env: "TEKTON_LINEAGE_NAMESPACE",
    defaultText: "the pod's namespace, else tekton-lineage",
    description: "Namespace where tekton-lineage keeps its Leases (attempt counters, queue slots, leader).",
    parse: parseText,
  }),
  instanceId: setting({
    flag: "instance-id",
    env: "TEKTON_LINEAGE_INSTANCE_ID",
    default: hostname(),
    defaultText: "the host name (the pod name in a cluster)",
    description: "Name of this process in admitted-by annotations, Lease holders and logs.",
    parse: parseText,
  }),
  watchNamespaces: setting({
    flag: "watch-namespaces",
    env: "TEKTON_LINEAGE_WATCH_NAMESPACES",
    default: "",
    defaultText: "all namespaces",
    description: "Comma-separated namespaces whose PipelineRuns the reconciler watches.",
    parse: parseList,
  }),
  admissionDeadline: setting({
    flag: "admission-deadline",
    env: "TEKTON_LINEAGE_ADMISSION_DEADLINE",
    default: "3s",
    description:
      "In-process deadline for one admission review; keep it below the webhook's timeoutSeconds (5s).",
    parse: parseDuration,
  }),
  maxBodyBytes: setting({
    flag: "max-body",
    env: "TEKTON_LINEAGE_MAX_BODY",
    default: "3Mi",
    description: "Largest AdmissionReview body accepted; larger requests get 413.",
    parse: parseBytes,
  }),
  drainDelay: setting({
    flag: "drain-delay",
    env: "TEKTON_LINEAGE_DRAIN_DELAY",
    default: "5s",
    description:
      "On SIGTERM, how long to keep serving with readiness failed, so endpoints stop routing here.",
    parse: parseDuration,
  }),
  drainTimeout: setting({
    flag: "drain-timeout",
    env: "TEKTON_LINEAGE_DRAIN_TIMEOUT",
    default: "20s",
    description: "On SIGTERM, how long to wait for in-flight reviews before closing connections.",
    parse: parseDuration,
  }),
  lineageLabels: setting({
    flag: "lineage-labels",
    env: "TEKTON_LINEAGE_LINEAGE_LABELS",
    default: "",
    defaultText: "none",
    description:
      "For PipelineRuns Pipelines-as-Code did not create: comma-separated label keys whose values separate lineages (besides namespace and generateName).",
    parse: parseList,
  }),
  onAllocationFailure: setting({
    flag: "on-allocation-failure",
    env: "TEKTON_LINEAGE_ON_ALLOCATION_FAILURE",
    default: "allow",
    description:
      "When no attempt number can be allocated in time (API server slow or down): allow = admit unchanged with generateName and record an AdmissionFallback Event (pairs with failurePolicy Ignore); deny = refuse with a retryable message (pairs with failurePolicy Fail).",
    parse: parseOneOf(["allow", "deny"] as const),
  }),
  trustedUsers: setting({
    flag: "trusted-users",
    env: "TEKTON_LINEAGE_TRUSTED_USERS",
    default: "",
    defaultText: "none",
    description:
      "Comma-separated users allowed, besides tekton-lineage itself (the user the API server says it is), to change tekton-lineage's labels and annotations on existing PipelineRuns.",
    parse: parseList,
  }),
  claimMaxAge: setting({
    flag: "claim-max-age",
    env: "TEKTON_LINEAGE_CLAIM_MAX_AGE",
    default: "2m",
    description:
      "How old signed admission claims may be when a create is validated; older claims are a copy of another run and are refused.",
    parse: parseDuration,
  }),
  signingSecret: setting({
    flag: "signing-secret",
    env: "TEKTON_LINEAGE_SIGNING_SECRET",
    default: "tekton-lineage-signing",
    description: "Secret (in --namespace) with the HMAC key that signs admission claims; created if missing.",
    parse: parseText,
  }),
  auditEventRate: setting({
    flag: "audit-event-rate",
    env: "TEKTON_LINEAGE_AUDIT_EVENT_RATE",
    default: "5",
    description:
      "Audit Events written per second at most (bursts of 5x are allowed); the rest wait in a bounded queue.",
    parse: parsePositiveInteger,
  }),
  resync: setting({
    flag: "resync",
    env: "TEKTON_LINEAGE_RESYNC",
    default: "5m",
    description: "How often the reconciler looks at every cached PipelineRun again, even without a change.",
    parse: parseDuration,
  }),
  counterGcInterval: setting({
    flag: "counter-gc-interval",
    env: "TEKTON_LINEAGE_COUNTER_GC_INTERVAL",
    default: "10m",
    description: "How often the leader deletes attempt counters of lineages that have no PipelineRun left.",
    parse: parseDuration,
  }),
  counterGcGrace: setting({
    flag: "counter-gc-grace",
    env: "TEKTON_LINEAGE_COUNTER_GC_GRACE",
    default: "1h",
    description: "An attempt counter is kept at least this long after its last allocation.",
    parse: parseDuration,
  }),
  queueRules: setting({
    flag: "queue-rules",
    env: "TEKTON_LINEAGE_QUEUE_RULES",
    default: "",
    defaultText: "none",
    description:
      'Concurrency queues for runs Pipelines-as-Code does not queue, as JSON: [{"name":"deploys","selector":{"tekton.dev/pipeline":"deploy"},"key":"{namespace}/deploy","limit":1}]. Placeholders: {namespace} {pipeline} {label:<key>} {annotation:<key>}.',
    parse: parseQueueRules,
  }),
  queueTtl: setting({
    flag: "queue-ttl",
    env: "TEKTON_LINEAGE_QUEUE_TTL",
    default: "60s",
    description:
      "A slot or place in line held for a PipelineRun that does not exist (never created, or gone unseen) is taken back after this long, judged on the reconciler's own clock.",
    parse: parseDuration,
  }),
  maxQueueWait: setting({
    flag: "max-queue-wait",
    env: "TEKTON_LINEAGE_MAX_QUEUE_WAIT",
    default: "0s",
    defaultText: "0s (no limit)",
    description:
      "Runs waiting longer than this are cancelled with a clear reason; a Repository's tekton-lineage.io/max-queue-wait overrides it.",
    parse: parseDuration,
  }),
  maxQueueLength: setting({
    flag: "max-queue-length",
    env: "TEKTON_LINEAGE_MAX_QUEUE_LENGTH",
    default: "1000",
    description: "Most runs waiting in one queue; a create beyond it is refused with 429 (retry later).",
    parse: parsePositiveInteger,
  }),
  queuePositionDelay: setting({
    flag: "queue-position-delay",
    env: "TEKTON_LINEAGE_QUEUE_POSITION_DELAY",
    default: "2s",
    description:
      "Place-in-line annotations of one queue are written at most this often (they change with every start).",
    parse: parseDuration,
  }),
  leaderElectionId: setting({
    flag: "leader-election-id",
    env: "TEKTON_LINEAGE_LEADER_ELECTION_ID",
    default: "tekton-lineage-reconciler",
    description: "Name of the Lease (in --namespace) the reconciler replicas elect their leader with.",
    parse: parseDnsLabel,
  }),
  leaderLeaseDuration: setting({
    flag: "leader-lease-duration",
    env: "TEKTON_LINEAGE_LEADER_LEASE_DURATION",
    default: "15s",
    description:
      "Leader election: how long a silent leader's Lease lasts before another replica may take over.",
    parse: parseDuration,
  }),
  leaderRenewDeadline: setting({
    flag: "leader-renew-deadline",
    env: "TEKTON_LINEAGE_LEADER_RENEW_DEADLINE",
    default: "10s",
    description:
      "Leader election: a leader that cannot renew within this long steps down (must be below the lease duration).",
    parse: parseDuration,
  }),
  leaderRetryPeriod: setting({
    flag: "leader-retry-period",
    env: "TEKTON_LINEAGE_LEADER_RETRY_PERIOD",
    default: "2s",
    description: "Leader election: how often replicas try to acquire or renew.",
    parse: parseDuration,
  }),
  output: setting({
    flag: "output",
    env: "TEKTON_LINEAGE_OUTPUT",
    default: "text",
    description: "Output of `queue list`: text or json.",
    parse: parseOneOf(["text", "json"] as const),
  }),
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
    default: "Pipelines as Code CI",
    description: "Application name in the status name, as PaC's application-name setting.",
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
    defaultText: "none (statuses carry no link)",
    description:
      "Link to a PipelineRun, like PaC's custom-console-url-pr-details: https://console.example/ns/{{ namespace }}/pipelinerun/{{ pr }}.",
    parse: parseLinkTemplate,
  }),
  errorUrl: setting({
    flag: "error-url",
    env: "TEKTON_LINEAGE_ERROR_URL",
    default: "",
    defaultText: "none (the status says what failed, with no link)",
    description:
      "Link for an attempt that was never created ({{ namespace }}, {{ pr }}, {lineage}), e.g. a log search.",
    parse: parseLinkTemplate,
  }),
  creationGrace: setting({
    flag: "creation-grace",
    env: "TEKTON_LINEAGE_CREATION_GRACE",
    default: "30s",
    description: "An admitted attempt not created within this long is reported as a failed creation.",
    parse: parseDuration,
  }),
  gitlabResync: setting({
    flag: "gitlab-resync",
    env: "TEKTON_LINEAGE_GITLAB_RESYNC",
    default: "2m",
    description:
      "How often GitLab is read again for a lineage in progress, to repair what another writer changed.",
    parse: parseDuration,
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
  }),
  logLevel: setting({
    flag: "log-level",
    env: "TEKTON_LINEAGE_LOG_LEVEL",
    default: "info",
    description: `Log level: ${logLevels.join(", ")}.`,
    parse: parseOneOf(logLevels),
  }),
};

export type Settings = typeof settings;
export type Config = {
  [K in keyof Settings]: Settings[K] extends { default: string }
    ? ReturnType<Settings[K]["parse"]>
    : ReturnType<Settings[K]["parse"]> | undefined;
};

function parseSecretSetting(raw: string): SecretRef | undefined {
  if (raw.trim() === "") return undefined;
  const ref = parseSecretRef(raw);
  if (!ref) throw new SettingError(`expected namespace/name or namespace/name:key, got "${raw}"`);
  return ref;
}
