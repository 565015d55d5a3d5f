import { writeTokenKey } from "../kube/leases.ts";
import { managedByKey, managedByValue } from "../kube/managed-by.ts";

/**
 * Every name tekton-lineage writes and reads on PipelineRuns, Repositories and Leases, in one place for
 * both roles. Everything tekton-lineage owns lives under one prefix; PaC's keys are read, never written.
 * (Two keys belong to infrastructure that cannot import this file; they are repeated here by reference.)
 */
export const prefix = "tekton-lineage.io/";

/** Annotations set at admission and covered by the admission signature. */
export const admissionKeys = {
  lineage: `${prefix}lineage`,
  lineageId: `${prefix}lineage-id`,
  attempt: `${prefix}attempt`,
  supersedes: `${prefix}supersedes`,
  admittedAt: `${prefix}admitted-at`,
  admittedBy: `${prefix}admitted-by`,
  queue: `${prefix}queue`,
  queueTicket: `${prefix}queue-ticket`,
  enqueuedAt: `${prefix}enqueued-at`,
  /** Set when tekton-lineage, not the user, made the run Pending: only such runs are started by the queue. */
  pendingByQueue: `${prefix}pending-by-queue`,
  /** The slot claimed at admission, when a slot was free. */
  queueSlot: `${prefix}queue-slot`,
} as const;

/** The HMAC over the admission keys, name and namespace; proves the mutating webhook wrote them. */
export const signatureKey = `${prefix}signature`;

/** Annotations the reconciler maintains after admission (never signed; only tekton-lineage may change them). */
export const reconcilerKeys = {
  queuePosition: `${prefix}queue-position`,
  /** What the queue (or a supersede) decided about the run, in words for people. */
  queueDecision: `${prefix}queue-decision`,
  /** The same decision as one word (QueueOutcome), for programs: nothing parses the words. */
  queueOutcome: `${prefix}queue-outcome`,
  /** The GitLab pipeline a lineage's statuses join, when PaC recorded none. */
  gitlabPipelineId: `${prefix}gitlab-pipeline-id`,
  /**
   * Why tekton-lineage took this run's final GitLab report over from PaC (it wrote PaC's state
   * `completed`, so PaC's watcher never reports the run): it was cancelled, or a newer attempt exists.
   */
  pacReportTakenOver: `${prefix}pac-report-taken-over`,
} as const;

/** What a queue decision was, as stored in reconcilerKeys.queueOutcome. */
export type QueueOutcome = "waiting" | "started" | "started-outside" | "cancelled";

/** Annotations a user may set on a run they create. */
export const userKeys = {
  /** On a newer attempt: cancel older attempts of its lineage (for runs PaC did not make). */
  cancelInProgress: `${prefix}cancel-in-progress`,
} as const;

/** Annotations on a PaC Repository, set by its owner, that tekton-lineage reads. */
export const repositoryKeys = {
  /** Opt-in: "enabled" hands this repository's queue to tekton-lineage. */
  queue: `${prefix}queue`,
  /** The limit, instead of spec.concurrency_limit. */
  concurrencyLimit: `${prefix}concurrency-limit`,
  maxQueueWait: `${prefix}max-queue-wait`,
} as const;

/** Labels, for selectors; their values repeat annotations. */
export const labelKeys = {
  lineageId: `${prefix}lineage-id`,
  attempt: `${prefix}attempt`,
  queueId: `${prefix}queue-id`,
  /** The bucket of the run's namespace (core/buckets.ts): which replica reconciles it. */
  bucket: `${prefix}bucket`,
  /** "cluster" on runs of a --queue-rules queue, which may span namespaces: the leader keeps those queues. */
  queueScope: `${prefix}queue-scope`,
  /** Opt-out: a namespace or PipelineRun labelled tekton-lineage.io/webhook=disabled is left alone. */
  webhook: `${prefix}webhook`,
} as const;

/** The label keys that tekton-lineage writes (the opt-out label belongs to users). */
export const ownedLabelKeys: readonly string[] = [labelKeys.lineageId, labelKeys.attempt, labelKeys.queueId];

/**
 * Labels that route a run to the replica that reconciles it (core/buckets.ts): set at admission, kept
 * from change by validation like the owned labels, but not signed — a replica of the previous release
 * would leave them out of the text it verifies (claims-compat.test.ts) — and labelled again by the
 * reconciler when they are missing or wrong.
 */
export const routingLabelKeys: readonly string[] = [labelKeys.bucket, labelKeys.queueScope];

/** Pipelines-as-Code's keys (prefix pipelinesascode.tekton.dev/), read from annotations first, then labels. */
export const pac = {
  prefix: "pipelinesascode.tekton.dev/",
  repository: "pipelinesascode.tekton.dev/repository",
  sha: "pipelinesascode.tekton.dev/sha",
  eventType: "pipelinesascode.tekton.dev/event-type",
  pullRequest: "pipelinesascode.tekton.dev/pull-request",
  originalPrName: "pipelinesascode.tekton.dev/original-prname",
  state: "pipelinesascode.tekton.dev/state",
  sourceProjectId: "pipelinesascode.tekton.dev/source-project-id",
  targetProjectId: "pipelinesascode.tekton.dev/target-project-id",
  sourceBranch: "pipelinesascode.tekton.dev/source-branch",
  urlOrg: "pipelinesascode.tekton.dev/url-org",
  urlRepository: "pipelinesascode.tekton.dev/url-repository",
  repoUrl: "pipelinesascode.tekton.dev/repo-url",
  logUrl: "pipelinesascode.tekton.dev/log-url",
  gitlabPipelineId: "pipelinesascode.tekton.dev/gitlab-pipeline-id",
  gitProvider: "pipelinesascode.tekton.dev/git-provider",
  cancelInProgress: "pipelinesascode.tekton.dev/cancel-in-progress",
  /** startPR (or the watcher) reported the run's start: the watcher will not post in_progress for it again. */
  scmReportingPlrStarted: "pipelinesascode.tekton.dev/scm-reporting-plr-started",
  /** Written only for a Repository with a concurrency limit: the run is counted by PaC's in-memory queue. */
  executionOrder: "pipelinesascode.tekton.dev/execution-order",
  /** The git-auth Secret the run's clone reads (PaC's secret auto-creation). */
  gitAuthSecret: "pipelinesascode.tekton.dev/git-auth-secret",
  /** v0.45 and later: "false" until the watcher has made the git-auth Secret. */
  secretCreated: "pipelinesascode.tekton.dev/secret-created",
} as const;

/** Labels of the Leases tekton-lineage keeps in its own namespace. */
export const leaseLabels = {
  managedBy: managedByKey,
  managedByValue,
  kind: `${prefix}lease-kind`,
  /** On attempt counters: the namespace of the lineage's runs, so a scoped reconciler selects its own. */
  runNamespace: `${prefix}run-namespace`,
  queueId: `${prefix}queue-id`,
  lineageId: `${prefix}lineage-id`,
  /** On attempt counters: the bucket of their runs' namespace (core/buckets.ts), as on the runs. */
  bucket: `${prefix}bucket`,
} as const;

/** Annotations of tekton-lineage's Leases. */
export const leaseKeys = {
  /** Stamped on every compare-and-swap write, to resolve an ambiguous failure by reading it back. */
  writeToken: writeTokenKey,
  /** Attempt counters: the last attempt handed out, its name, the lineage's namespace, what it was admitted as. */
  lastAttempt: `${prefix}last-attempt`,
  lastName: `${prefix}last-name`,
  namespace: `${prefix}namespace`,
  lastSubject: `${prefix}last-subject`,
  /** Attempt counters: attempts whose admission fell back after the counter was written (comma-separated). */
  fallenBack: `${prefix}fallen-back`,
  /** Attempt counters: the attempts handed out before the last (JSON, newest first, at most three). */
  earlierAttempts: `${prefix}earlier-attempts`,
  /** Queue Leases: the queue's state (JSON). */
  queueState: `${prefix}queue-state`,
  /**
   * Attempt counters: the lineage as it was when its GitLab status was last settled (the reporter's quiet
   * mark), so a reporter that restarts or takes the bucket over does not read GitLab for it again.
   */
  gitlabQuiet: `${prefix}gitlab-quiet`,
} as const;

const userAnnotationKeys: readonly string[] = Object.values(userKeys);

/** An annotation tekton-lineage owns: its prefix, but not the keys users set themselves (userKeys). */
export function isOwnedAnnotation(key: string): boolean {
  return key.startsWith(prefix) && !userAnnotationKeys.includes(key);
}

export function isOwnedLabel(key: string): boolean {
  return ownedLabelKeys.includes(key);
}
