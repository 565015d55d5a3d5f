import { e2eContext } from "./context.ts";
import { type LineageProcess, type StartOptions, startLineageProcess } from "./lineage-process.ts";

export type { LineageProcess } from "./lineage-process.ts";

/** Starts a tekton-lineage process for an e2e test, with the suite's certificates and cluster. */
export function startTektonLineage(options: StartOptions): Promise<LineageProcess> {
  return startLineageProcess(e2eContext(), options);
}
