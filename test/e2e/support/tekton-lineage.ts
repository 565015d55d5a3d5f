import { e2eContext } from "./context.ts";
import { type LineageProcess, type StartOptions, startLineageProcess } from "./lineage-process.ts";

export type { LineageProcess } from "./lineage-process.ts";

/**
 * Starts a tekton-lineage process for an e2e test, with the suite's certificates and cluster. Reconcilers
 * of one test file elect their leader among themselves (a Lease named after the file's worker), so files
 * running side by side do not take each other's leadership. They act as tekton-lineage's ServiceAccount
 * unless the test says otherwise.
 */
export function startTektonLineage(options: StartOptions): Promise<LineageProcess> {
  const args = [...(options.args ?? [])];
  if (options.role !== "webhook" && !args.some((a) => a.startsWith("--leader-election-id"))) {
    args.push(`--leader-election-id=tl-e2e-${process.pid}`);
  }
  const context = e2eContext();
  return startLineageProcess({ ...context, kubeconfig: context.lineageKubeconfig }, { ...options, args });
}
