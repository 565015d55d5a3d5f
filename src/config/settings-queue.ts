import { parseDnsLabel, parseDuration, parseOneOf, parsePositiveInteger, SettingError } from "./parsers.ts";
import { parseQueueRules } from "./queue-rules.ts";
import { setting } from "./setting.ts";

/** The concurrency queue and the reconciler leader election. */
export const queueSettings = {
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
    default: "10s",
    description:
      "A slot or place in line held for a PipelineRun that does not exist (never created, or gone unseen) is taken back after this long, judged on the reconciler's own clock, once a read from the API server confirms the run is absent. A create reaches the API server's storage within a second of its admission unless later webhooks are slow; one that comes later still gets its place back by its ticket (a run that started at once then counts against the limit).",
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
      "Runs newly waiting in one queue are told so (their waiting decision and a Queued Event) at most this often, coalesced. Places in line are kept in the queue's Lease only (`queue list`), never rewritten on runs.",
    parse: parseDuration,
  }),
  leaderElectionId: setting({
    flag: "leader-election-id",
    env: "TEKTON_LINEAGE_LEADER_ELECTION_ID",
    default: "tekton-lineage-reconciler",
    description: "Name of the Lease (in --namespace) the reconciler replicas elect their leader with.",
    parse: parseDnsLabel,
  }),
  buckets: setting({
    flag: "buckets",
    env: "TEKTON_LINEAGE_BUCKETS",
    default: "1",
    description:
      "Reconcile work shared between replicas: runs are labelled with the bucket of their namespace, and each bucket has a Lease (<leader-election-id>-bucket-<i>-of-<n>) held by one replica, which caches and reconciles only its buckets' runs. 1 keeps one elected leader for everything. Every replica must run with the same count: replicas act on buckets only while all live replicas agree.",
    parse: (raw: string) => {
      const count = parsePositiveInteger(raw);
      if (count > 256) throw new SettingError("at most 256 buckets");
      return count;
    },
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
    description: "Output of `queue list` and `explain`: text or json.",
    parse: parseOneOf(["text", "json"] as const),
  }),
};
