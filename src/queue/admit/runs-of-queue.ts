import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { type PipelineRun, pipelineRunResource, trimPipelineRun } from "../../core/tekton.ts";
import { labelKeys } from "../../core/vocabulary.ts";
import type { KeyRing } from "../../lineage/claims.ts";
import { isGenuine } from "../../lineage/genuine-runs.ts";

/**
 * The runs of one queue, listed by their queue label across namespaces (a queue of a --queue-rules rule may
 * span them), for rebuilding a lost queue at admission; only runs whose claims tekton-lineage signed.
 */
export function runsOfQueueLister(
  kubeConfig: KubeConfig,
  keys: KeyRing,
): (queueId: string) => Promise<PipelineRun[]> {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  return async (queueId) => {
    const runs: PipelineRun[] = [];
    let continueToken: string | undefined;
    do {
      const page = (await api.listClusterCustomObject({
        ...pipelineRunResource,
        labelSelector: `${labelKeys.queueId}=${queueId}`,
        limit: 500,
        _continue: continueToken,
      })) as { items?: unknown[]; metadata?: { continue?: string } };
      for (const raw of page.items ?? []) {
        const run = trimPipelineRun(raw);
        if (isGenuine(run, keys)) runs.push(run);
      }
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
    return runs;
  };
}
