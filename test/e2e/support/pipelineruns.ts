import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { pipelineRunResource } from "../../../src/kube/custom-objects.ts";
import type { PipelineRun } from "../../../src/kube/pipelinerun.ts";

/** A PipelineRun as PaC or a user would submit it: generateName and a pipelineRef. */
export function newPipelineRun(options: {
  namespace: string;
  generateName?: string;
  name?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  pending?: boolean;
}): PipelineRun {
  return {
    apiVersion: "tekton.dev/v1",
    kind: "PipelineRun",
    metadata: {
      namespace: options.namespace,
      ...(options.name ? { name: options.name } : { generateName: options.generateName ?? "build-" }),
      labels: options.labels ?? {},
      annotations: options.annotations ?? {},
    },
    spec: {
      pipelineRef: { name: "build" },
      ...(options.pending ? { status: "PipelineRunPending" } : {}),
    },
  };
}

export function pipelineRuns(kubeConfig: KubeConfig) {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const base = {
    group: pipelineRunResource.group,
    version: pipelineRunResource.version,
    plural: pipelineRunResource.plural,
  };
  return {
    create: (run: PipelineRun, options: { dryRun?: boolean } = {}) =>
      api.createNamespacedCustomObject({
        ...base,
        namespace: run.metadata.namespace ?? "",
        body: run,
        ...(options.dryRun ? { dryRun: "All" } : {}),
      }) as Promise<PipelineRun>,
    get: (namespace: string, name: string) =>
      api.getNamespacedCustomObject({ ...base, namespace, name }) as Promise<PipelineRun>,
    list: async (namespace: string, labelSelector?: string) =>
      (
        (await api.listNamespacedCustomObject({ ...base, namespace, labelSelector })) as {
          items: PipelineRun[];
        }
      ).items,
    delete: (namespace: string, name: string) =>
      api.deleteNamespacedCustomObject({ ...base, namespace, name }),
  };
}
