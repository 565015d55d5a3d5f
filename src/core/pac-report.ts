import type { PipelineRun } from "./tekton.ts";
import { pac, reconcilerKeys } from "./vocabulary.ts";

/**
 * What Pipelines-as-Code's watcher will still report for a run, read the way the watcher reads it
 * (pkg/reconciler/reconciler.go, ReconcileKind, the same in v0.37.0 and v0.50.0):
 *
 * - only runs with the state *annotation* are reconciled at all (controller.go, checkStateAndEnqueue);
 * - a run whose state is `completed` or `failed` is never reported again (the first check);
 * - any other run is reported as soon as it is done **or merely cancelled** (`!pr.IsDone() &&
 *   !pr.IsCancelled()`, IsCancelled being spec.status == "Cancelled"), and formatting.PipelineRunStatus
 *   calls a run whose Succeeded condition is still Unknown (Running, PipelineRunPending) a **success**.
 *
 * So a run tekton-lineage cancels, or one a newer attempt has made stale, must have its state written
 * `completed` — in the same write as the cancel — or PaC can post `success` onto the latest attempt's
 * open status (PaC and tekton-lineage write as one GitLab user). tekton-lineage then reports it itself.
 */

/** The states after which PaC's watcher leaves a run alone. */
const finalStates = ["completed", "failed"];

/** PaC made the run: the state label (put on at creation; the cache keeps it only without the annotation) or annotation. */
export function pacMade(run: PipelineRun): boolean {
  return run.metadata.labels?.[pac.state] !== undefined || pacState(run) !== undefined;
}

/** PaC's state annotation, if PaC has taken the run over. */
export function pacState(run: PipelineRun): string | undefined {
  return run.metadata.annotations?.[pac.state];
}

/** PaC's watcher has reported the run (or tekton-lineage wrote the state that says so: reportTakenOver). */
export function pacReported(run: PipelineRun): boolean {
  return finalStates.includes(pacState(run) ?? "");
}

/** PaC's watcher will still post a final status for this run (it has taken it over and not yet reported). */
export function pacWillReport(run: PipelineRun): boolean {
  const state = pacState(run);
  return state !== undefined && !finalStates.includes(state);
}

/** How long startPR may take between its create and its patch of the state annotation (it is immediate). */
export const pacTakeoverWindowMs = 60_000;

/**
 * PaC made the run (the state *label*, put on at creation) but has not yet patched its state annotation:
 * startPR is between its create and its patch. A state written now would be overwritten by that patch,
 * so nothing may be taken over from PaC yet. Past a minute PaC is not coming (an orphan, or a patch that
 * failed and that v0.50 only logs): its watcher will never see the run.
 */
export function pacTakeoverPending(run: PipelineRun, now: number = Date.now()): boolean {
  if (run.metadata.labels?.[pac.state] === undefined || pacState(run) !== undefined) return false;
  const created = Date.parse(run.metadata.creationTimestamp ?? "");
  return !Number.isFinite(created) || now - created < pacTakeoverWindowMs;
}

/**
 * The run is counted by PaC's own in-memory queue (a Repository with a concurrency limit: PaC wrote its
 * execution-order). Its slot is freed only when PaC's watcher reports the run (startNextPipelineRunInQueue)
 * or sees it deleted, so its report must never be taken from PaC, and tekton-lineage never cancels it.
 */
export function inPacQueue(run: PipelineRun): boolean {
  return run.metadata.annotations?.[pac.executionOrder] !== undefined && pacWillReport(run);
}

/** PaC has reported the run's start (startPR, or the watcher's updatePipelineRunToInProgress). */
export function pacStartReported(run: PipelineRun): boolean {
  return run.metadata.annotations?.[pac.scmReportingPlrStarted] === "true";
}

/** tekton-lineage took this run's report over from PaC (and why). */
export function reportTakenOver(run: PipelineRun): string | undefined {
  return run.metadata.annotations?.[reconcilerKeys.pacReportTakenOver];
}

/**
 * The labels and annotations that take a run's final report over from PaC: its state `completed` (label
 * and annotation, as PaC's own updatePipelineRunState writes them), and why. Empty when PaC will not
 * report the run anyway.
 */
export function takeOverReport(
  run: PipelineRun,
  why: string,
): { annotations: Record<string, string>; labels: Record<string, string> } {
  if (!pacWillReport(run) || inPacQueue(run)) return { annotations: {}, labels: {} };
  return {
    annotations: { [pac.state]: "completed", [reconcilerKeys.pacReportTakenOver]: why },
    labels: { [pac.state]: "completed" },
  };
}
