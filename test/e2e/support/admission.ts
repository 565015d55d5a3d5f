import type { KubeConfig } from "@kubernetes/client-node";
import { newPipelineRun, pipelineRuns } from "./pipelineruns.ts";
import { eventually } from "./poll.ts";
import type { LineageProcess } from "./tekton-lineage.ts";

/**
 * Waits until the API server calls this process for PipelineRuns in the namespace: webhook
 * configuration changes reach the API server asynchronously. Probes with dry-run creates, which
 * change nothing, and watches the process's own review counter.
 */
export async function waitUntilServing(kubeConfig: KubeConfig, namespace: string, process: LineageProcess) {
  const runs = pipelineRuns(kubeConfig);
  await eventually(
    `${process.name} to receive reviews for ${namespace}`,
    async () => {
      const before = await process.metric("tekton_lineage_admission_reviews_total", { path: "/mutate" });
      await runs
        .create(newPipelineRun({ namespace, generateName: "probe-" }), { dryRun: true })
        .catch(() => {});
      return (await process.metric("tekton_lineage_admission_reviews_total", { path: "/mutate" })) > before;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}
