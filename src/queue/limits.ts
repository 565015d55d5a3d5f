import { parseDuration } from "../config/parsers.ts";
import type { Informer } from "../kube/informer.ts";
import { type Repository, repositoryView } from "../kube/repository.ts";
import type { LineageSubject } from "../lineage/lineage.ts";
import { pac } from "../lineage/vocabulary.ts";
import { chooseQueue, type QueueChoice, repositoryKeys } from "./choose.ts";
import type { QueueRule } from "./rules.ts";
import type { QueueState } from "./state.ts";

/** Where queues and limits come from: the Repository cache and the configured rules. */
export class QueueLimits {
  private readonly repositories: Informer<Repository>;
  private readonly rules: readonly QueueRule[];
  private readonly defaultMaxWaitMs: number;

  constructor(options: {
    repositories: Informer<Repository>;
    rules: readonly QueueRule[];
    defaultMaxWaitMs: number;
  }) {
    this.repositories = options.repositories;
    this.rules = options.rules;
    this.defaultMaxWaitMs = options.defaultMaxWaitMs;
  }

  /** The queue of a new run (admission). */
  choose(subject: LineageSubject, pendingAtCreation: boolean): QueueChoice {
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
    const fromAnnotation = Number(repository.annotations[repositoryKeys.concurrencyLimit]);
    const limit =
      Number.isSafeInteger(fromAnnotation) && fromAnnotation > 0
        ? fromAnnotation
        : repository.concurrencyLimit;
    let maxWaitMs = this.defaultMaxWaitMs;
    const wait = repository.annotations[repositoryKeys.maxQueueWait];
    if (wait) {
      try {
        maxWaitMs = parseDuration(wait);
      } catch {
        /* keep the default for a malformed annotation */
      }
    }
    return { limit: limit && limit > 0 ? limit : state.limit, maxWaitMs };
  }
}
