import { parseDuration } from "../config/parsers.ts";
import { baseOf, type LineageSubject } from "../lineage/lineage.ts";
import { pac, prefix } from "../lineage/vocabulary.ts";
import { type QueueRule, renderKey } from "./rules.ts";
import { type QueueSource, queueIdOf } from "./state.ts";

/** The Repository fields the queue reads. */
export interface RepositoryView {
  namespace: string;
  name: string;
  concurrencyLimit?: number;
  annotations: Record<string, string>;
}

export const repositoryKeys = {
  /** Opt-in: "enabled" hands this repository's queue to tekton-lineage. */
  queue: `${prefix}queue`,
  /** The limit, instead of spec.concurrency_limit. */
  concurrencyLimit: `${prefix}concurrency-limit`,
  maxQueueWait: `${prefix}max-queue-wait`,
} as const;

export type QueueChoice =
  | { queued: false; reason: string }
  | {
      queued: true;
      key: string;
      id: string;
      limit: number;
      source: QueueSource;
      maxWaitMs: number;
      /** PaC had already queued the run itself; tekton-lineage takes it over. */
      takeOverFromPac: boolean;
    };

function positive(value: unknown): number | undefined {
  const n = typeof value === "number" ? value : Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function waitOf(text: string | undefined, fallback: number): number {
  if (!text) return fallback;
  try {
    return parseDuration(text);
  } catch {
    return fallback;
  }
}

/**
 * Which queue a PipelineRun belongs to, with which limit.
 *
 * - A Pipelines-as-Code run whose Repository opted in (annotation tekton-lineage.io/queue: enabled) is
 *   queued per repository, limited by tekton-lineage.io/concurrency-limit or else spec.concurrency_limit.
 *   If PaC already queued it (state: queued), tekton-lineage takes it over.
 * - A run PaC queued in a Repository that did not opt in is left to PaC's own watcher: never both.
 * - Otherwise the first matching rule of --queue-rules decides.
 * - A run the user made Pending is not queued (it is not ours to start).
 */
export function chooseQueue(
  subject: LineageSubject,
  pendingAtCreation: boolean,
  repository: RepositoryView | undefined,
  rules: readonly QueueRule[],
  defaultMaxWaitMs: number,
): QueueChoice {
  const read = (key: string) => subject.annotations[key] ?? subject.labels[key];
  const queuedByPac = read(pac.state) === "queued";
  const optedIn = repository?.annotations[repositoryKeys.queue] === "enabled";
  if (repository && read(pac.repository)) {
    if (optedIn) {
      const limit =
        positive(repository.annotations[repositoryKeys.concurrencyLimit]) ??
        positive(repository.concurrencyLimit);
      if (limit === undefined)
        return { queued: false, reason: `Repository ${repository.name} sets no concurrency limit` };
      if (pendingAtCreation && !queuedByPac)
        return { queued: false, reason: "the run was created Pending by its author" };
      const key = `pac/${repository.namespace}/${repository.name}`;
      return {
        queued: true,
        key,
        id: queueIdOf(key),
        limit,
        source: { kind: "repository", namespace: repository.namespace, name: repository.name },
        maxWaitMs: waitOf(repository.annotations[repositoryKeys.maxQueueWait], defaultMaxWaitMs),
        takeOverFromPac: queuedByPac,
      };
    }
    if (queuedByPac)
      return { queued: false, reason: "queued by Pipelines-as-Code (Repository not opted in)" };
  }
  if (pendingAtCreation) return { queued: false, reason: "the run was created Pending by its author" };
  const rule = rules.find((r) => Object.entries(r.selector).every(([k, v]) => subject.labels[k] === v));
  if (!rule) return { queued: false, reason: "no queue applies" };
  const key = renderKey(rule.key, subject, read(pac.originalPrName) ?? baseOf(subject));
  return {
    queued: true,
    key,
    id: queueIdOf(key),
    limit: rule.limit,
    source: { kind: "rule", name: rule.name },
    maxWaitMs: rule.maxWaitMs || defaultMaxWaitMs,
    takeOverFromPac: false,
  };
}
