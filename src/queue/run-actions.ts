import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import jsonpatch from "fast-json-patch";
import { apiFailure, isAmbiguous } from "../kube/api-errors.ts";
import { pipelineRunResource } from "../kube/custom-objects.ts";
import { isDone, type PipelineRun } from "../kube/pipelinerun.ts";
import { admissionKeys, reconcilerKeys } from "../lineage/vocabulary.ts";
import type { Logger } from "../observability/logger.ts";
import { pendingStatus } from "./run-view.ts";

/** The part of a run a queue action changes, so the patch is a diff of exactly this. */
interface Editable {
  metadata: { annotations: Record<string, string> };
  spec: { status?: string };
}

function editable(run: PipelineRun): Editable {
  return {
    metadata: { annotations: { ...(run.metadata.annotations ?? {}) } },
    spec: run.spec?.status === undefined ? {} : { status: run.spec.status },
  };
}

export type ActionResult = "done" | "gone" | "changed";

/**
 * Writes the queue's decisions to PipelineRuns. Starting and cancelling are conditional: the JSON Patch is
 * made by diff with test operations for every value it replaces, so it applies only if the run is still
 * as the decision saw it (Pending). An ambiguous failure is followed by a re-read.
 */
export class RunActions {
  private readonly api: CustomObjectsApi;
  private readonly logger: Logger;

  constructor(kubeConfig: KubeConfig, logger: Logger) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.logger = logger;
  }

  /** Clears spec.status (Tekton starts the run) and records the fencing token of its slot. */
  start(run: PipelineRun, fence: number, decision: string): Promise<ActionResult> {
    return this.change(
      run,
      (e) => {
        delete e.spec.status;
        e.metadata.annotations[admissionKeys.queueSlot] = String(fence);
        e.metadata.annotations[reconcilerKeys.queueDecision] = decision;
        delete e.metadata.annotations[reconcilerKeys.queuePosition];
      },
      (fresh) =>
        fresh.spec?.status !== pendingStatus &&
        fresh.metadata.annotations?.[admissionKeys.queueSlot] === String(fence),
      (fresh) => fresh.spec?.status === pendingStatus,
    );
  }

  /**
   * Sets spec.status to Cancelled with the reason: Tekton ends a waiting run without starting it and stops
   * a running one. The patch tests the spec.status it replaces, so a run changed meanwhile is left alone.
   */
  cancel(run: PipelineRun, decision: string): Promise<ActionResult> {
    return this.change(
      run,
      (e) => {
        e.spec.status = "Cancelled";
        e.metadata.annotations[reconcilerKeys.queueDecision] = decision;
        delete e.metadata.annotations[reconcilerKeys.queuePosition];
      },
      (fresh) => fresh.spec?.status === "Cancelled",
      (fresh) => !isDone(fresh) && (fresh.spec?.status === undefined || fresh.spec.status === pendingStatus),
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
      throw error;
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
    edit: (e: Editable) => void,
    applied: (fresh: PipelineRun) => boolean,
    stillApplies: (fresh: PipelineRun) => boolean,
    retried = false,
  ): Promise<ActionResult> {
    const before = editable(run);
    const after = structuredClone(before);
    edit(after);
    const patch = jsonpatch.compare(before, after, true);
    try {
      await this.api.patchNamespacedCustomObject({ ...this.target(run), body: patch });
      return "done";
    } catch (error) {
      const failure = apiFailure(error);
      if (failure.code === 404) return "gone";
      if (failure.code === 422 || failure.code === 409) return "changed"; // a test failed: the run moved on
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
      return this.change(fresh, edit, applied, stillApplies, true);
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
