import type { KubeConfig } from "@kubernetes/client-node";
import { type ApiFailure, apiFailure } from "../../../src/kube/api-errors.ts";
import { newPipelineRun, pipelineRuns } from "./pipelineruns.ts";
import { eventually } from "./poll.ts";
import type { LineageProcess } from "./tekton-lineage.ts";

/**
 * Waits until the API server calls these processes for PipelineRuns in the namespace: webhook
 * configuration changes reach the API server asynchronously. Probes with dry-run creates, which
 * change nothing, and watches the processes' own review counters.
 */
export async function waitUntilServing(
  kubeConfig: KubeConfig,
  namespace: string,
  processes: LineageProcess | LineageProcess[],
  path = "/mutate",
) {
  const runs = pipelineRuns(kubeConfig);
  const all = Array.isArray(processes) ? processes : [processes];
  const reviews = async () => {
    let total = 0;
    for (const p of all) total += await p.metric("tekton_lineage_admission_reviews_total", { path });
    return total;
  };
  await eventually(
    `${all.map((p) => p.name).join(", ")} to receive reviews for ${namespace}`,
    async () => {
      const before = await reviews();
      await runs
        .create(newPipelineRun({ namespace, generateName: "probe-" }), { dryRun: true })
        .catch(() => {});
      return (await reviews()) > before;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

/** How the API server refused a write (its code, reason and message), or undefined when it went through. */
export const refusal = (write: Promise<unknown>): Promise<ApiFailure | undefined> =>
  write.then(
    () => undefined,
    (error: unknown) => apiFailure(error),
  );
