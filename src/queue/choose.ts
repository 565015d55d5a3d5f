import { type QueueRule, renderKey } from "../config/queue-rules.ts";
import { type RepositoryView, repositoryQueue } from "../core/repository.ts";
import type { RunMeta } from "../core/tekton.ts";
import { pac } from "../core/vocabulary.ts";
import { baseOf } from "../lineage/lineage.ts";
import { type QueueSource, queueIdOf } from "./state.ts";

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
  subject: RunMeta,
  pendingAtCreation: boolean,
  repository: RepositoryView | undefined,
  rules: readonly QueueRule[],
  defaultMaxWaitMs: number,
): QueueChoice {
  const read = (key: string) => subject.annotations[key] ?? subject.labels[key];
  const queuedByPac = read(pac.state) === "queued";
  const settings = repository ? repositoryQueue(repository, defaultMaxWaitMs) : undefined;
  if (repository && settings && read(pac.repository)) {
    if (settings.optedIn) {
      const limit = settings.limit;
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
        maxWaitMs: settings.maxWaitMs,
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
