import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { PipelineRun } from "../../../src/core/tekton.ts";
import { pipelineRunResource } from "../../../src/core/tekton.ts";

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

/** A PipelineRun as Pipelines-as-Code creates it for a GitLab merge request. */
export function pacPipelineRun(options: {
  namespace: string;
  sha: string;
  pipeline?: string;
  repository?: string;
  pullRequest?: string;
  extraAnnotations?: Record<string, string>;
  extraLabels?: Record<string, string>;
}): PipelineRun {
  const pipeline = options.pipeline ?? "build";
  const pac = {
    "pipelinesascode.tekton.dev/repository": options.repository ?? "demo-repo",
    "pipelinesascode.tekton.dev/sha": options.sha,
    "pipelinesascode.tekton.dev/original-prname": pipeline,
    "pipelinesascode.tekton.dev/event-type": "pull_request",
    "pipelinesascode.tekton.dev/pull-request": options.pullRequest ?? "42",
    "pipelinesascode.tekton.dev/git-provider": "gitlab",
  };
  return newPipelineRun({
    namespace: options.namespace,
    generateName: `${pipeline}-`,
    labels: { ...pac, ...options.extraLabels },
    annotations: {
      ...pac,
      "pipelinesascode.tekton.dev/source-project-id": "1001",
      "pipelinesascode.tekton.dev/target-project-id": "1001",
      "pipelinesascode.tekton.dev/source-branch": "feature/login",
      ...options.extraAnnotations,
    },
  });
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
    /** A JSON Patch. */
    patch: (namespace: string, name: string, operations: object[]) =>
      api.patchNamespacedCustomObject({ ...base, namespace, name, body: operations }) as Promise<PipelineRun>,
    /** A JSON merge patch of metadata (labels, annotations). */
    patchMetadata: (namespace: string, name: string, metadata: Record<string, unknown>) =>
      api.patchNamespacedCustomObject(
        { ...base, namespace, name, body: { metadata } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      ) as Promise<PipelineRun>,
  };
}
