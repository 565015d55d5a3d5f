import type { V1Lease } from "@kubernetes/client-node";
import { Counter, type Registry } from "prom-client";
import type { PipelineRun } from "../core/tekton.ts";
import { labelKeys, leaseLabels } from "../core/vocabulary.ts";
import type { ObjectCache } from "../kube/informer.ts";
import type { LeaseAccess } from "../kube/leases.ts";
import type { Logger } from "../observability/logger.ts";
import { attemptLeaseKind } from "./attempts.ts";
import { type CollectGrace, countersToCollect } from "./counter-gc-plan.ts";

/** Deletes attempt counters whose lineage has no PipelineRun left (see countersToCollect). */
export function createCounterCollector(options: {
  store: LeaseAccess;
  runs: ObjectCache<PipelineRun>;
  watchedNamespaces: readonly string[];
  /** Sharded: the counters this replica may collect now (labelled with a bucket it reconciles). */
  owns?: (counter: V1Lease) => boolean;
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
    if (!options.runs.synced) return;
    const owns = options.owns;
    const listed = await options.store.list(`${leaseLabels.kind}=${attemptLeaseKind}`);
    const leases = owns ? listed.filter(owns) : listed;
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
