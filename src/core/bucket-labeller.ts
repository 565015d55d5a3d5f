import type { V1Lease } from "@kubernetes/client-node";
import type { ObjectCache } from "../kube/informer.ts";
import { type CachedLease, compareAndSwap, type LeaseAccess } from "../kube/leases.ts";
import type { Logger } from "../observability/logger.ts";
import { bucketOf, queueNamespaceOf } from "./buckets.ts";
import { Controller } from "./controller.ts";
import type { RunWriter } from "./run-actions.ts";
import type { PipelineRun } from "./tekton.ts";
import { admissionKeys, labelKeys, leaseLabels } from "./vocabulary.ts";

/** The routing labels a run should carry under `count` buckets; only those that differ from its own. */
export function routingLabelsToWrite(run: PipelineRun, count: number): Record<string, string> {
  const labels = run.metadata.labels ?? {};
  const wanted: Record<string, string> = {
    [labelKeys.bucket]: bucketOf(run.metadata.namespace ?? "", count),
  };
  const queue = run.metadata.annotations?.[admissionKeys.queue];
  if (queue !== undefined && queueNamespaceOf(queue) === undefined) wanted[labelKeys.queueScope] = "cluster";
  return Object.fromEntries(Object.entries(wanted).filter(([key, value]) => labels[key] !== value));
}

/** The bucket label an attempt counter should carry, when it carries another. */
export function counterBucketToWrite(lease: V1Lease, count: number): string | undefined {
  const labels = lease.metadata?.labels ?? {};
  const wanted = bucketOf(labels[leaseLabels.runNamespace] ?? "", count);
  return labels[leaseLabels.bucket] === wanted ? undefined : wanted;
}

const runPrefix = "run:";
const counterPrefix = "counter:";

/**
 * Labels runs and attempt counters with their bucket when they lack it or carry another: runs admitted
 * before buckets or under another count, which no bucket's replica would otherwise see. Its caches hold
 * only such objects (a selector `bucket notin (<every value>)`), so it is idle once all are labelled.
 * Writes are conditional on the version read (a run's merge patch, a counter's compare-and-swap).
 */
export class BucketLabeller {
  readonly controller: Controller;
  private readonly options: {
    runs: ObjectCache<PipelineRun>;
    counters: ObjectCache<CachedLease>;
    writer: RunWriter;
    store: LeaseAccess;
    count: number;
    logger: Logger;
  };

  constructor(options: BucketLabeller["options"]) {
    this.options = options;
    this.controller = new Controller({
      name: "bucket-labeller",
      reconcile: (key) => this.reconcile(key),
      caches: [options.runs, options.counters],
      initialKeys: () => [
        ...options.runs.list().map((run) => `${runPrefix}${run.metadata.namespace}/${run.metadata.name}`),
        ...options.counters.list().map((lease) => `${counterPrefix}${lease.metadata.name}`),
      ],
      concurrency: 2,
      logger: options.logger,
    });
    options.runs.onChange((run, event) => {
      if (event !== "deleted")
        this.controller.enqueueFor(`${runPrefix}${run.metadata.namespace}/${run.metadata.name}`, event);
    });
    options.counters.onChange((lease, event) => {
      if (event !== "deleted") this.controller.enqueueFor(`${counterPrefix}${lease.metadata.name}`, event);
    });
  }

  run(signal: AbortSignal): void {
    this.controller.run(signal);
  }

  private async reconcile(key: string): Promise<undefined> {
    const { runs, counters, writer, store, count, logger } = this.options;
    if (key.startsWith(runPrefix)) {
      const [namespace, name] = key.slice(runPrefix.length).split("/");
      const run = runs.get(namespace, name ?? "");
      const labels = run ? routingLabelsToWrite(run, count) : {};
      if (!run || Object.keys(labels).length === 0) return undefined;
      const result = await writer.annotateIfUnchanged(run, { annotations: {}, labels });
      logger.info({ run: `${namespace}/${name}`, labels, result }, "labelled a run with its bucket");
      // "changed": the run moved on; its change event brings it back if it still needs the label.
      return undefined;
    }
    const name = key.slice(counterPrefix.length);
    if (!counters.get(store.namespace, name)) return undefined;
    await compareAndSwap(store, name, (current) => {
      const bucket = current ? counterBucketToWrite(current, count) : undefined;
      if (!current || bucket === undefined) return undefined;
      return {
        ...current,
        metadata: {
          ...current.metadata,
          labels: { ...current.metadata?.labels, [leaseLabels.bucket]: bucket },
        },
      };
    });
    return undefined;
  }
}
