import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { apiFailure, isAmbiguous } from "../kube/api-errors.ts";
import type { Logger } from "../observability/logger.ts";
import { TerminalError } from "./controller.ts";
import { inPacQueue, pacState, pacTakeoverPending, takeOverReport } from "./pac-report.ts";
import { type RunEdit, runPatch } from "./run-patch.ts";
import {
  cancelStatus,
  isDone,
  type PipelineRun,
  pendingStatus,
  pipelineRunResource,
  type RunMeta,
} from "./tekton.ts";
import { admissionKeys, pac, type QueueOutcome, reconcilerKeys, signatureKey } from "./vocabulary.ts";

/**
 * "done": written (or already so); "gone": the run no longer exists; "changed": the run moved on since it
 * was read; "later": not yet ours to write (PaC is still taking the run over); "refused": never ours to
 * write (the run is counted by PaC's own queue).
 */
export type ActionResult = "done" | "gone" | "changed" | "later" | "refused";

/** Signs a run's claims (tekton-lineage's signing key), for the writes that change a signed claim. */
export type Signer = (meta: RunMeta) => string;

/** The annotations that record a decision about a run: one word for programs, a sentence for people. */
export function decisionAnnotations(outcome: QueueOutcome, text: string): Record<string, string> {
  return { [reconcilerKeys.queueOutcome]: outcome, [reconcilerKeys.queueDecision]: text };
}

export interface CancelOptions {
  /** PaC will never take the run over (it was told its create failed): nothing to wait for. */
  orphan?: boolean;
  /**
   * A person cancels (`queue clear`), not tekton-lineage's identity: tekton-lineage's own keys are left
   * for the reconciler to write (the validating webhook refuses them from anyone else); PaC's state,
   * which is not tekton-lineage's, is still written in the same write.
   */
  byOperator?: boolean;
}

/** The writes controllers make to PipelineRuns (RunActions against the API server; a fake in unit tests). */
export interface RunWriter {
  /** Clears spec.status (Tekton starts the run) and records the fencing token of its slot, if still Pending. */
  start(run: PipelineRun, fence: number, decision: string): Promise<ActionResult>;
  /**
   * Sets spec.status to Cancelled with the reason, if the run is still as seen (Pending, or running), and
   * in the same write takes its final report over from PaC (pac-report.ts). `orphan`: PaC will never
   * take the run over, so there is nothing to wait for.
   */
  cancel(run: PipelineRun, decision: string, options?: CancelOptions): Promise<ActionResult>;
  /** Takes a run's final report over from PaC (its state `completed`), while PaC's state is as seen. */
  takeOverReport(run: PipelineRun, why: string): Promise<ActionResult>;
  /** Sets annotations of a run only while it waits (Pending). */
  annotateWaiting(run: PipelineRun, annotations: Record<string, string | null>): Promise<ActionResult>;
  /** Sets (null: removes) informative annotations, unconditionally, when they differ. */
  annotate(run: PipelineRun, annotations: Record<string, string | null>): Promise<ActionResult>;
  /** Sets labels and annotations only if the run is still exactly as seen (its resourceVersion). */
  annotateIfUnchanged(
    run: PipelineRun,
    changes: { annotations: Record<string, string>; labels: Record<string, string> },
  ): Promise<ActionResult>;
}

/**
 * Writes the queue's decisions to PipelineRuns. Starting, cancelling a waiting run and writing its place
 * in line are conditional: the JSON Patch tests spec.status, so it applies only while the run is as the
 * decision saw it (Pending), whatever else changed on it meanwhile. An ambiguous failure is followed by
 * a re-read.
 */
export class RunActions implements RunWriter {
  private readonly api: CustomObjectsApi;
  private readonly logger: Logger;
  private readonly sign: Signer;

  /** `sign` signs the claims of a run as they will be (a start adds the slot's fencing token to them). */
  constructor(kubeConfig: KubeConfig, logger: Logger, sign: Signer) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.logger = logger;
    this.sign = sign;
  }

  /**
   * Clears spec.status (Tekton starts the run) and records the fencing token of its slot, a signed claim:
   * the signature is made again over the claims with the token, so the run stays genuine.
   */
  start(run: PipelineRun, fence: number, decision: string): Promise<ActionResult> {
    const claimed = { ...run.metadata.annotations, [admissionKeys.queueSlot]: String(fence) };
    const signature = this.sign({
      namespace: run.metadata.namespace ?? "",
      name: run.metadata.name ?? "",
      labels: run.metadata.labels ?? {},
      annotations: claimed,
    });
    // PaC reported this run queued (startPR: a run a mutating webhook made Pending); its watcher would
    // post in_progress once Tekton runs it, a second post onto the open status that GitLab refuses
    // ("Cannot transition status via :run from :running") and PaC before v0.41 turns into a merge-request
    // note. tekton-lineage reports the start itself, so it tells PaC the start is reported.
    const pacStarted: Record<string, string> =
      pacState(run) === "queued" && !inPacQueue(run)
        ? { [pac.state]: "started", [pac.scmReportingPlrStarted]: "true" }
        : {};
    return this.change(
      run,
      {
        expectStatus: pendingStatus,
        status: null,
        annotations: {
          [admissionKeys.queueSlot]: String(fence),
          [signatureKey]: signature,
          ...decisionAnnotations("started", decision),
          [reconcilerKeys.queuePosition]: null,
          ...pacStarted,
        },
        labels: pacStarted[pac.state] ? { [pac.state]: "started" } : undefined,
      },
      (fresh) =>
        fresh.spec?.status !== pendingStatus &&
        fresh.metadata.annotations?.[admissionKeys.queueSlot] === String(fence),
      (fresh) => fresh.spec?.status === pendingStatus,
    );
  }

  /**
   * Sets spec.status to Cancelled with the reason: Tekton ends a waiting run without starting it and stops
   * a running one. A Pending run is cancelled only while it is still Pending.
   */
  async cancel(run: PipelineRun, decision: string, options: CancelOptions = {}): Promise<ActionResult> {
    if (inPacQueue(run)) return "refused";
    if (pacTakeoverPending(run) && !options.orphan) return "later";
    const takeOver = takeOverReport(run, decision);
    const state = pacState(run);
    const taking = takeOver.labels[pac.state] !== undefined;
    const ours: Record<string, string | null> = options.byOperator
      ? {}
      : {
          ...decisionAnnotations("cancelled", decision),
          [reconcilerKeys.queuePosition]: null,
          ...(taking ? { [reconcilerKeys.pacReportTakenOver]: decision } : {}),
        };
    return this.change(
      run,
      {
        expectStatus: run.spec?.status,
        expectAnnotations: state && taking ? { [pac.state]: state } : undefined,
        status: cancelStatus,
        annotations: { ...ours, ...(taking ? { [pac.state]: "completed" } : {}) },
        labels: takeOver.labels,
      },
      (fresh) => fresh.spec?.status === cancelStatus,
      (fresh) => !isDone(fresh) && (fresh.spec?.status === undefined || fresh.spec.status === pendingStatus),
    );
  }

  async takeOverReport(run: PipelineRun, why: string): Promise<ActionResult> {
    const takeOver = takeOverReport(run, why);
    const state = pacState(run);
    if (!state || !takeOver.labels[pac.state]) return inPacQueue(run) ? "refused" : "done";
    return this.change(
      run,
      {
        expectAnnotations: { [pac.state]: state },
        annotations: takeOver.annotations,
        labels: takeOver.labels,
      },
      (fresh) => fresh.metadata.annotations?.[pac.state] === "completed",
      (fresh) => fresh.metadata.annotations?.[pac.state] === state,
    );
  }

  /**
   * Sets annotations of a run that waits (Pending), and only while it waits: a run started meanwhile
   * keeps what its start wrote. "changed" when it no longer waits.
   */
  async annotateWaiting(run: PipelineRun, annotations: Record<string, string | null>): Promise<ActionResult> {
    const current = run.metadata.annotations ?? {};
    const changes = Object.fromEntries(
      Object.entries(annotations).filter(([k, v]) => (current[k] ?? null) !== v),
    );
    if (Object.keys(changes).length === 0) return "done";
    return this.change(
      run,
      { expectStatus: pendingStatus, annotations: changes },
      (fresh) => Object.entries(changes).every(([k, v]) => (fresh.metadata.annotations?.[k] ?? null) === v),
      (fresh) => fresh.spec?.status === pendingStatus,
    );
  }

  /** Sets (or, with null, removes) informative annotations; unconditional, written only when they differ. */
  async annotate(run: PipelineRun, annotations: Record<string, string | null>): Promise<ActionResult> {
    const current = run.metadata.annotations ?? {};
    const changes = Object.fromEntries(
      Object.entries(annotations).filter(([k, v]) => (current[k] ?? null) !== v),
    );
    if (Object.keys(changes).length === 0) return "done";
    try {
      await this.api.patchNamespacedCustomObject(
        { ...this.target(run), body: { metadata: { annotations: changes } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      return "done";
    } catch (error) {
      if (apiFailure(error).code === 404) return "gone";
      throw refusedForGood(error, run) ?? error;
    }
  }

  /** A merge patch carrying the resourceVersion seen: the API server applies it only to that version. */
  async annotateIfUnchanged(
    run: PipelineRun,
    changes: { annotations: Record<string, string>; labels: Record<string, string> },
  ): Promise<ActionResult> {
    const metadata = { resourceVersion: run.metadata.resourceVersion, ...changes };
    try {
      await this.api.patchNamespacedCustomObject(
        { ...this.target(run), body: { metadata } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      return "done";
    } catch (error) {
      const failure = apiFailure(error);
      if (failure.code === 404) return "gone";
      if (failure.code === 409) return "changed";
      if (!isAmbiguous(error)) throw refusedForGood(error, run) ?? error;
      const fresh = await this.read(run);
      if (!fresh) return "gone";
      const applied =
        Object.entries(changes.annotations).every(([k, v]) => fresh.metadata.annotations?.[k] === v) &&
        Object.entries(changes.labels).every(([k, v]) => fresh.metadata.labels?.[k] === v);
      return applied ? "done" : "changed";
    }
  }

  private target(run: PipelineRun) {
    return {
      group: pipelineRunResource.group,
      version: pipelineRunResource.version,
      plural: pipelineRunResource.plural,
      namespace: run.metadata.namespace ?? "",
      name: run.metadata.name ?? "",
    };
  }

  private async change(
    run: PipelineRun,
    edit: RunEdit,
    applied: (fresh: PipelineRun) => boolean,
    stillApplies: (fresh: PipelineRun) => boolean,
    retried = false,
  ): Promise<ActionResult> {
    try {
      await this.api.patchNamespacedCustomObject({ ...this.target(run), body: runPatch(edit) });
      return "done";
    } catch (error) {
      const failure = apiFailure(error);
      if (failure.code === 404) return "gone";
      if (failure.code === 422 || failure.code === 409) return "changed"; // the test failed: the run moved on
      if (!isAmbiguous(error)) throw error;
      const fresh = await this.read(run);
      if (!fresh) return "gone";
      if (applied(fresh)) return "done";
      if (!stillApplies(fresh)) return "changed";
      if (retried) throw error;
      this.logger.debug(
        { run: run.metadata.name },
        "queue action not applied after an ambiguous failure; retrying",
      );
      return this.change(fresh, { ...edit, expectStatus: fresh.spec?.status }, applied, stillApplies, true);
    }
  }

  private async read(run: PipelineRun): Promise<PipelineRun | undefined> {
    try {
      return (await this.api.getNamespacedCustomObject(this.target(run))) as PipelineRun;
    } catch (error) {
      if (apiFailure(error).code === 404) return undefined;
      throw error;
    }
  }
}

/**
 * The API server refused a merge patch of metadata as invalid (400, 422: an annotation past the 256 KiB
 * the object may carry, say): retrying the same write cannot succeed, so it is a TerminalError, said as a
 * Warning on the run; a change of the run brings its reconcile back.
 */
function refusedForGood(error: unknown, run: PipelineRun): TerminalError | undefined {
  const { code, message } = apiFailure(error);
  if (code !== 400 && code !== 422) return undefined;
  return new TerminalError(`the API server refused tekton-lineage's annotations: ${message}`, {
    namespace: run.metadata.namespace ?? "",
    objectName: run.metadata.name ?? "",
    reason: "AnnotationRefused",
  });
}
