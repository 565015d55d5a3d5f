import { pacWillReport, reportTakenOver } from "../../core/pac-report.ts";
import type { RunWriter } from "../../core/run-actions.ts";
import { isCancelRequested, type PipelineRun } from "../../core/tekton.ts";
import { attemptOf } from "../../lineage/supersede.ts";
import { newestAdmitted } from "./latest.ts";
import type { LineageView } from "./lineage-view.ts";

/**
 * The runs of a lineage whose final report tekton-lineage must take from PaC (core/pac-report.ts):
 * every attempt older than the newest admitted one — the newest run, or a newer attempt the counter
 * handed out and no run carries yet (its create may have failed) — and any run tekton-lineage took over
 * before whose state PaC wrote back. PaC's watcher reports every run that ends, on the status name all
 * attempts share and with the same GitLab user, so the `success` of a stale attempt would land on the
 * latest attempt's open status: a green for an attempt that has not succeeded. Also every run someone
 * else asked to cancel (PaC's own cancel-in-progress, a person in the console): PaC reports a run whose
 * spec.status is Cancelled while it is still Unknown as a success, and before v0.39 sends "cancelled",
 * which GitLab refuses (a merge-request note). Runs PaC's own queue counts stay PaC's (takeOverReport
 * refuses them).
 */
export function reportsToTakeOver(
  view: Pick<LineageView, "runs" | "attempts">,
): { run: PipelineRun; why: string }[] {
  const newest = newestAdmitted(view.attempts);
  if (!newest) return [];
  return view.runs.flatMap((run) => {
    if (!pacWillReport(run) || run.metadata.deletionTimestamp !== undefined) return [];
    const again = reportTakenOver(run);
    if (again) return [{ run, why: again }];
    if (attemptOf(run) < newest.attempt)
      return [
        { run, why: `attempt ${attemptOf(run)} superseded by attempt ${newest.attempt} (${newest.name})` },
      ];
    if (isCancelRequested(run))
      return [{ run, why: `attempt ${attemptOf(run)} cancelled (spec.status ${run.spec?.status})` }];
    return [];
  });
}

/**
 * Takes each report from PaC (RunWriter.takeOverReport), telling `taken` of each one done. A write that
 * finds PaC's state changed is left for the next reconcile, which that change triggers.
 */
export async function takeOverReports(
  writer: Pick<RunWriter, "takeOverReport">,
  reports: readonly { run: PipelineRun; why: string }[],
  taken: () => void,
): Promise<void> {
  for (const { run, why } of reports) if ((await writer.takeOverReport(run, why)) === "done") taken();
}
