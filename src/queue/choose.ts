import { type QueueRule, renderKey } from "../config/queue-rules.ts";
import { repositoryQueuePrefix } from "../core/buckets.ts";
import { type PacLimit, type RepositoryView, repositoryQueue } from "../core/repository.ts";
import type { RunMeta } from "../core/tekton.ts";
import { pac } from "../core/vocabulary.ts";
import { baseOf } from "../lineage/lineage.ts";
import { type QueueSource, queueIdOf } from "./state.ts";

export type QueueChoice =
  | {
      queued: false;
      reason: string;
      /** The Repository opted in to tekton-lineage's queue, but PaC enforces a limit on it itself. */
      conflict?: string;
    }
  | {
      queued: true;
      key: string;
      id: string;
      limit: number;
      source: QueueSource;
      maxWaitMs: number;
    };

/** Why an opt-in cannot work: PaC queues the Repository's runs itself (see pacLimitOf). */
export function optInConflict(repository: RepositoryView, pacLimit: PacLimit): string {
  const where =
    pacLimit.from === "repository"
      ? `its spec.concurrency_limit (${pacLimit.limit})`
      : `the global Repository's concurrency_limit (${pacLimit.limit}), which it inherits`;
  const fix =
    pacLimit.from === "repository"
      ? "remove spec.concurrency_limit and set tekton-lineage.io/concurrency-limit"
      : "set spec.concurrency_limit: 0 on it (PaC then inherits no limit) and tekton-lineage.io/concurrency-limit";
  return `Repository ${repository.namespace}/${repository.name} opted in to tekton-lineage's queue, but Pipelines-as-Code queues its runs itself by ${where}; ${fix}`;
}

/**
 * Which queue a PipelineRun belongs to, with which limit. Current Pipelines-as-Code (v0.37 and later)
 * queues the runs of a Repository with a limit itself: it creates them Pending (label state=started),
 * then patches state=queued and execution-order, and its watcher starts them. Only one of the two may
 * own a repository's queue:
 *
 * - A Repository PaC enforces no limit on that opted in (tekton-lineage.io/queue: enabled) is queued by
 *   tekton-lineage, per repository, limited by tekton-lineage.io/concurrency-limit. PaC then creates
 *   its runs as they come; tekton-lineage makes the ones that must wait Pending, and PaC, which set no
 *   execution-order, never starts them.
 * - A Repository PaC enforces a limit on (its own spec.concurrency_limit or the global Repository's) is
 *   PaC's: never queued here. An opt-in there is refused loudly (`conflict`), never silently ignored.
 * - Otherwise the first matching rule of --queue-rules decides.
 * - A run the user made Pending is not queued (it is not ours to start).
 */
export function chooseQueue(
  subject: RunMeta,
  pendingAtCreation: boolean,
  repository: RepositoryView | undefined,
  pacLimit: PacLimit | undefined,
  rules: readonly QueueRule[],
  defaultMaxWaitMs: number,
): QueueChoice {
  const read = (key: string) => subject.annotations[key] ?? subject.labels[key];
  const settings = repository ? repositoryQueue(repository, defaultMaxWaitMs) : undefined;
  if (repository && settings && read(pac.repository)) {
    if (settings.optedIn && pacLimit) {
      const conflict = optInConflict(repository, pacLimit);
      return { queued: false, reason: conflict, conflict };
    }
    if (pacLimit)
      return { queued: false, reason: `queued by Pipelines-as-Code (concurrency_limit ${pacLimit.limit})` };
    if (settings.optedIn) {
      const limit = settings.limit;
      if (limit === undefined)
        return {
          queued: false,
          reason: `Repository ${repository.name} sets no tekton-lineage.io/concurrency-limit`,
        };
      if (pendingAtCreation) return { queued: false, reason: "the run was created Pending by its author" };
      const key = `${repositoryQueuePrefix}${repository.namespace}/${repository.name}`;
      return {
        queued: true,
        key,
        id: queueIdOf(key),
        limit,
        source: { kind: "repository", namespace: repository.namespace, name: repository.name },
        maxWaitMs: settings.maxWaitMs,
      };
    }
  }
  if (pendingAtCreation) return { queued: false, reason: "the run was created Pending by its author" };
  const rule = rules.find((r) => Object.entries(r.selector).every(([k, v]) => subject.labels[k] === v));
  if (!rule) return { queued: false, reason: "no queue applies" };
  const rendered = renderKey(rule.key, subject, read(pac.originalPrName) ?? baseOf(subject));
  // A rule's queue never passes for a Repository's (whose key names the namespace its bucket is of).
  const key = rendered.startsWith(repositoryQueuePrefix) ? `rule/${rendered}` : rendered;
  return {
    queued: true,
    key,
    id: queueIdOf(key),
    limit: rule.limit,
    source: { kind: "rule", name: rule.name },
    maxWaitMs: rule.maxWaitMs || defaultMaxWaitMs,
  };
}
