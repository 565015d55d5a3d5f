import { customResourceSource, pipelineRunResource } from "../kube/custom-objects.ts";
import { Informer } from "../kube/informer.ts";
import { LeaderElector } from "../kube/leader-election.ts";
import { LeaseStore } from "../kube/leases.ts";
import { type PipelineRun, trimPipelineRun } from "../kube/pipelinerun.ts";
import { createCounterCollector } from "../lineage/counter-collector.ts";
import { labelKeys } from "../lineage/vocabulary.ts";
import type { Component } from "../service/component.ts";
import type { ServiceContext } from "../service/run.ts";
import { every } from "./periodic.ts";

export const leaderLeaseName = "tekton-lineage-reconciler";

/**
 * The reconciler role: a cache of the PipelineRuns tekton-lineage admitted (selected by label, never a
 * list of every PipelineRun), and, on the elected leader only, the loops that act on them.
 */
export function createReconciler(context: ServiceContext): Component {
  const { config, kubeConfig, logger, registry, namespace } = context;
  const store = new LeaseStore(kubeConfig, namespace);
  const runs = new Informer<PipelineRun>({
    name: "pipelineruns",
    kubeConfig,
    source: customResourceSource(kubeConfig, pipelineRunResource),
    namespaces: config.watchNamespaces,
    labelSelector: labelKeys.lineageId,
    transform: trimPipelineRun,
    resyncMs: config.resync,
    logger,
  });
  const collectCounters = createCounterCollector({
    store,
    runs,
    watchedNamespaces: config.watchNamespaces,
    graceMs: config.counterGcGrace,
    logger,
    registry,
  });
  const elector = new LeaderElector({
    store,
    name: leaderLeaseName,
    identity: config.instanceId,
    logger,
    onStartedLeading: (_epoch, signal) => {
      void every("attempt-counter-gc", config.counterGcInterval, collectCounters, signal, logger);
    },
  });
  return {
    name: "reconciler",
    readiness: { "pipelineruns-synced": () => runs.synced },
    start() {
      runs.start();
      elector.start();
    },
    async stop() {
      await elector.stop();
      runs.stop();
    },
  };
}
