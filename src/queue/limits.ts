import type { QueueRule } from "../config/queue-rules.ts";
import { type Repository, repositoryQueue, repositoryView } from "../core/repository.ts";
import type { RunMeta } from "../core/tekton.ts";
import { pac } from "../core/vocabulary.ts";
import type { ObjectCache } from "../kube/informer.ts";
import { chooseQueue, type QueueChoice } from "./choose.ts";
import type { QueueState } from "./state.ts";

/** Where queues and limits come from: the Repository cache and the configured rules. */
export class QueueLimits {
  private readonly repositories: ObjectCache<Repository>;
  private readonly rules: readonly QueueRule[];
  private readonly defaultMaxWaitMs: number;

  constructor(options: {
    repositories: ObjectCache<Repository>;
    rules: readonly QueueRule[];
    defaultMaxWaitMs: number;
  }) {
    this.repositories = options.repositories;
    this.rules = options.rules;
    this.defaultMaxWaitMs = options.defaultMaxWaitMs;
  }

  /** The queue of a new run (admission). */
  choose(subject: RunMeta, pendingAtCreation: boolean): QueueChoice {
    const name = subject.annotations[pac.repository] ?? subject.labels[pac.repository];
    const repository = name ? repositoryView(this.repositories.get(subject.namespace, name)) : undefined;
    return chooseQueue(subject, pendingAtCreation, repository, this.rules, this.defaultMaxWaitMs);
  }

  /** The limit and longest wait of an existing queue now; the stored ones when the source is gone. */
  current(state: QueueState): { limit: number; maxWaitMs: number } {
    const fallback = { limit: state.limit, maxWaitMs: this.defaultMaxWaitMs };
    if (state.source.kind === "rule") {
      const name = state.source.name;
      const rule = this.rules.find((r) => r.name === name);
      return rule ? { limit: rule.limit, maxWaitMs: rule.maxWaitMs || this.defaultMaxWaitMs } : fallback;
    }
    const repository = repositoryView(this.repositories.get(state.source.namespace, state.source.name));
    if (!repository) return fallback;
    const { limit, maxWaitMs } = repositoryQueue(repository, this.defaultMaxWaitMs);
    return { limit: limit ?? state.limit, maxWaitMs };
  }
}
