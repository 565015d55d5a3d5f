import { Counter, type Registry } from "prom-client";
import type { PipelineRun } from "../core/tekton.ts";
import { labelKeys } from "../core/vocabulary.ts";
import type { ObjectCache } from "../kube/informer.ts";
import type { CachedLease, LeaseAccess } from "../kube/leases.ts";
import type { Logger } from "../observability/logger.ts";
import { type CollectGrace, countersToCollect } from "./counter-gc-plan.ts";

/**
 * Deletes attempt counters whose lineage has no PipelineRun left (see countersToCollect). The counters are
 * read from the cache the reporter keeps anyway (sharded: those of the buckets held), never listed whole:
 * at 100k lineages one list would be a hundred megabytes to parse. A delete holds only while the counter
 * is as cached (its resourceVersion), so a lagging cache never deletes a counter written since.
 */
export function createCounterCollector(options: {
  store: LeaseAccess;
  runs: ObjectCache<PipelineRun>;
  counters: ObjectCache<CachedLease>;
  watchedNamespaces: readonly string[];
  grace: CollectGrace;
  logger: Logger;
  registry: Registry;
}) {
  const collected = new Counter({
    name: "tekton_lineage_attempt_counters_collected_total",
    help: "Attempt counter Leases deleted because their lineage has no PipelineRun left.",
    registers: [options.registry],
  });
  return async function collect(signal: AbortSignal): Promise<void> {
    if (!options.runs.synced || !options.counters.synced) return;
    const leases = options.counters.list();
    const live = new Set(
      options.runs.list().flatMap((run) => {
        const id = run.metadata.labels?.[labelKeys.lineageId];
        return id ? [id] : [];
      }),
    );
    for (const lease of countersToCollect(
      leases,
      live,
      options.watchedNamespaces,
      new Date(),
      options.grace,
    )) {
      if (signal.aborted) return;
      if (await options.store.deleteIfUnchanged(lease.name, lease.resourceVersion)) {
        collected.inc();
        options.logger.info(
          { lease: lease.name },
          "deleted the attempt counter of a lineage with no runs left",
        );
      }
    }
  };
}
