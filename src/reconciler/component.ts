import { customResourceSource, pipelineRunResource } from "../kube/custom-objects.ts";
import { Informer } from "../kube/informer.ts";
import { type PipelineRun, trimPipelineRun } from "../kube/pipelinerun.ts";
import type { Component } from "../service/component.ts";
import type { ServiceContext } from "../service/run.ts";

/** The reconciler role: informers on PipelineRuns, ready once they have synced. */
export function createReconciler(context: ServiceContext): Component {
  const runs = new Informer<PipelineRun>({
    name: "pipelineruns",
    kubeConfig: context.kubeConfig,
    source: customResourceSource(context.kubeConfig, pipelineRunResource),
    namespaces: context.config.watchNamespaces,
    transform: trimPipelineRun,
    resyncMs: 60_000,
    logger: context.logger,
  });
  return {
    name: "reconciler",
    readiness: { "pipelineruns-synced": () => runs.synced },
    start: () => runs.start(),
    stop: () => runs.stop(),
  };
}
