import { hostname } from "node:os";
import {
  parseBoolean,
  parseBytes,
  parseDnsLabel,
  parseDuration,
  parseHostPort,
  parseList,
  parsePositiveInteger,
  parseText,
} from "./parsers.ts";
import { setting } from "./setting.ts";

/** The process: HTTPS, certificates, the cluster, the namespaces watched, draining. */
export const serverSettings = {
  listen: setting({
    flag: "listen",
    env: "TEKTON_LINEAGE_LISTEN",
    default: "0.0.0.0:8443",
    description: "HOST:PORT the HTTPS server listens on: admission reviews (/mutate, /validate) only.",
    parse: parseHostPort,
  }),
  metricsListen: setting({
    flag: "metrics-listen",
    env: "TEKTON_LINEAGE_METRICS_LISTEN",
    default: "0.0.0.0:9095",
    description:
      "HOST:PORT of the plain-HTTP operations server: /healthz, /readyz and /metrics, for the kubelet and Prometheus. A client allowed here never reaches admission.",
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
  settingsConfigMap: setting({
    flag: "settings-configmap",
    env: "TEKTON_LINEAGE_SETTINGS_CONFIGMAP",
    default: "",
    description:
      "The ConfigMap (in --namespace) this process's settings come from, watched: settings marked live in docs/settings.md take effect at once, a change of any other makes the leader roll --rollout-deployment. Empty: not watched.",
    parse: parseText,
  }),
  rolloutDeployment: setting({
    flag: "rollout-deployment",
    env: "TEKTON_LINEAGE_ROLLOUT_DEPLOYMENT",
    default: "",
    description:
      "The Deployment (in --namespace) the leader rolls when a setting that needs a restart changes in --settings-configmap, by a checksum annotation on its pod template, as Helm charts do. Empty: such a change is only logged.",
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
  maxLeaseWrites: setting({
    flag: "max-lease-writes-in-flight",
    env: "TEKTON_LINEAGE_MAX_LEASE_WRITES_IN_FLIGHT",
    default: "64",
    description:
      "Lineages whose attempt counter may wait for a write at once in one webhook process. Beyond it the API server is not keeping up: an admission of yet another lineage falls back at once (counted in tekton_lineage_attempts_shed_total) instead of waiting for the deadline; creates of a lineage already waiting share its write.",
    parse: parsePositiveInteger,
  }),
  maxBodyBytes: setting({
    flag: "max-body",
    env: "TEKTON_LINEAGE_MAX_BODY",
    default: "3Mi",
    description: "Largest AdmissionReview body accepted; larger requests get 413.",
    parse: parseBytes,
  }),
  maxInFlightReviews: setting({
    flag: "max-in-flight-reviews",
    env: "TEKTON_LINEAGE_MAX_IN_FLIGHT_REVIEWS",
    default: "256",
    description:
      "Admission reviews handled at once; more are answered 429 at once (the mutating webhook's Ignore then admits the run unchanged).",
    parse: parsePositiveInteger,
  }),
  maxInFlightBytes: setting({
    flag: "max-in-flight-bytes",
    env: "TEKTON_LINEAGE_MAX_IN_FLIGHT_BYTES",
    default: "16Mi",
    description:
      "Request bodies held at once, counted as their bytes arrive (a slow upload holds what it sent, not what it declared). When a body does not fit, the largest one still arriving is shed (429, connection closed), so memory stays bounded under a flood and a few large uploads cannot keep small reviews out.",
    parse: parseBytes,
  }),
  maxConnections: setting({
    flag: "max-connections",
    env: "TEKTON_LINEAGE_MAX_CONNECTIONS",
    default: "1024",
    description: "Open connections accepted at once; further ones are refused.",
    parse: parsePositiveInteger,
  }),
  clientCa: setting({
    flag: "client-ca",
    env: "TEKTON_LINEAGE_CLIENT_CA",
    default: "",
    defaultText: "none: any client may send admission reviews (keep the NetworkPolicy)",
    description:
      "PEM file of the CA that signs the API server's client certificate for webhooks (its AdmissionConfiguration kubeConfigFile). When set, /mutate and /validate answer only clients presenting a certificate it signed; probes and metrics need none.",
    parse: parseText,
  }),
  clientCaSubjects: setting({
    flag: "client-ca-subjects",
    env: "TEKTON_LINEAGE_CLIENT_CA_SUBJECTS",
    default: "",
    defaultText: "any certificate --client-ca signed",
    description:
      "Comma-separated common names the client certificate must carry (the API server's webhook client certificate), for a --client-ca that also signs other clients' certificates (a cluster CA).",
    parse: parseList,
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
};
