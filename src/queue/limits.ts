import type { QueueRule } from "../config/queue-rules.ts";
import {
  type PacLimit,
  pacLimitOf,
  type Repository,
  type RepositoryView,
  repositoryQueue,
  repositoryView,
} from "../core/repository.ts";
import type { RunMeta } from "../core/tekton.ts";
import { pac } from "../core/vocabulary.ts";
import type { ObjectCache } from "../kube/informer.ts";
import { chooseQueue, type QueueChoice } from "./choose.ts";
import type { QueueState } from "./state.ts";

/** Where queues and limits come from: the Repository cache, PaC's global Repository and the rules. */
export class QueueLimits {
  private readonly repositories: ObjectCache<Repository>;
  private readonly globalRepository: () => Repository | undefined;
  private readonly rules: readonly QueueRule[];
  private readonly defaultMaxWaitMs: number;

  constructor(options: {
    repositories: ObjectCache<Repository>;
    /** PaC's global Repository, whose settings every Repository inherits where it sets none. */
    globalRepository?: () => Repository | undefined;
    rules: readonly QueueRule[];
    defaultMaxWaitMs: number;
  }) {
    this.repositories = options.repositories;
    this.globalRepository = options.globalRepository ?? (() => undefined);
    this.rules = options.rules;
    this.defaultMaxWaitMs = options.defaultMaxWaitMs;
  }

  /** The queue of a new run (admission). */
  choose(subject: RunMeta, pendingAtCreation: boolean): QueueChoice {
    const name = subject.annotations[pac.repository] ?? subject.labels[pac.repository];
    const repository = name ? repositoryView(this.repositories.get(subject.namespace, name)) : undefined;
    const pacLimit = repository ? this.pacLimit(repository) : undefined;
    return chooseQueue(subject, pendingAtCreation, repository, pacLimit, this.rules, this.defaultMaxWaitMs);
  }

  /** The limit PaC enforces on a Repository itself (its own, or the global Repository's). */
  pacLimit(repository: RepositoryView): PacLimit | undefined {
    return pacLimitOf(repository, repositoryView(this.globalRepository()));
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
