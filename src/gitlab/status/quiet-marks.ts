import type { V1Lease } from "@kubernetes/client-node";
import type { Gauge } from "prom-client";
import { leaseKeys, leaseLabels } from "../../core/vocabulary.ts";
import type { ObjectCache } from "../../kube/informer.ts";
import { type CachedLease, compareAndSwap, type LeaseAccess } from "../../kube/leases.ts";
import { attemptLeaseName } from "../../lineage/attempts.ts";
import type { Logger } from "../../observability/logger.ts";
import type { LineageView } from "./lineage-view.ts";

/**
 * Where a lineage's quiet mark (lineage-memory.ts, quietKey) outlives the process that reached it: a
 * reporter that restarts, or takes a bucket over, finds the lineage unchanged since and reads GitLab for
 * it no more than its last owner would have — where it read every settled lineage of the cluster once.
 */
export interface QuietMarks {
  write(lineage: { namespace: string; lineageId: string }, mark: string, cached?: V1Lease): Promise<void>;
}

/**
 * Quiet marks kept on the lineage's attempt counter Lease, in tekton-lineage's own namespace: no tenant
 * can write one there. One compare-and-swap when a lineage goes quiet, starting from the cached counter;
 * a counter that is gone, or counts another namespace's lineage, is left alone.
 */
export function counterQuietMarks(store: LeaseAccess): QuietMarks {
  return {
    async write({ namespace, lineageId }, mark, cached) {
      await compareAndSwap(
        store,
        attemptLeaseName(lineageId),
        (current) => {
          if (current?.metadata?.labels?.[leaseLabels.runNamespace] !== namespace) return undefined;
          if (current.metadata.annotations?.[leaseKeys.gitlabQuiet] === mark) return undefined;
          const annotations = { ...current.metadata.annotations, [leaseKeys.gitlabQuiet]: mark };
          return { ...current, metadata: { ...current.metadata, annotations } };
        },
        { hint: cached, maxAttempts: 3 },
      );
    },
  };
}

/**
 * The reporter's quiet lineages: a lineage is quiet once its status is settled and nothing more is to be
 * read (lineage-memory.ts, quietKey); it stays so, here and on its counter, while its quiet key holds.
 * Counted in a gauge.
 */
export class QuietLineages {
  private readonly options: {
    marks?: QuietMarks;
    counters: ObjectCache<CachedLease>;
    countersNamespace: string;
    gauge: Pick<Gauge, "inc">;
    logger: Logger;
  };

  constructor(options: QuietLineages["options"]) {
    this.options = options;
  }

  /**
   * Whether the lineage is quiet under this key: remembered so here, or marked so by its last owner —
   * unless `adoptable` is false (what the process keeps of it besides, a part of its commit's bare status,
   * is filled again only by a reconcile that reaches GitLab).
   */
  holds(
    memory: { quiet?: string },
    view: Pick<LineageView, "quietMark">,
    key: string,
    adoptable: boolean,
  ): boolean {
    if (memory.quiet !== key && !(adoptable && view.quietMark === key)) return false;
    this.mark(memory, key);
    return true;
  }

  /** The lineage changed: it is read again. */
  end(memory: { quiet?: string }): void {
    this.mark(memory, undefined);
  }

  /** The lineage is settled: quiet here, and on its counter for whoever reconciles it next. */
  async settle(
    memory: { quiet?: string },
    view: Pick<LineageView, "key" | "namespace" | "lineageId" | "quietMark">,
    key: string,
  ): Promise<void> {
    this.mark(memory, key);
    const { marks, counters, countersNamespace, logger } = this.options;
    if (!marks || view.quietMark === key) return;
    const counter = counters.get(countersNamespace, attemptLeaseName(view.lineageId));
    try {
      await marks.write(view, key, counter);
    } catch (error) {
      // Only a restart's reads are lost: the mark is an optimisation, never needed to be right.
      logger.debug({ lineage: view.key, err: error }, "could not keep the quiet mark on the attempt counter");
    }
  }

  private mark(memory: { quiet?: string }, key: string | undefined): void {
    if ((memory.quiet === undefined) !== (key === undefined))
      this.options.gauge.inc(key === undefined ? -1 : 1);
    memory.quiet = key;
  }
}
