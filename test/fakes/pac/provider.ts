import { Commits, MergeRequestNotes } from "@gitbeaker/rest";
import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { pipelineRunResource } from "../../../src/core/tekton.ts";
import { emitMessage, type RepositoryRef } from "./events.ts";
import type { PacBehaviour } from "./versions.ts";

/** info.Event: what PaC knows of the merge request event that made a run (the fields used here). */
export interface PacEvent {
  sha: string;
  sourceProjectId: number;
  targetProjectId: number;
  pullRequestNumber: number;
  /** pull_request, or a GitOps comment's type (retest-all-comment, …). */
  eventType: string;
  organization: string;
  repository: string;
  url: string;
  headUrl: string;
  sender: string;
  baseBranch: string;
  headBranch: string;
  shaTitle: string;
}

/** providerstatus.StatusOpts (the fields CreateStatus reads). */
export interface StatusOpts {
  status: "completed" | "in_progress" | "queued";
  conclusion: "success" | "failure" | "skipped" | "neutral" | "cancelled" | "completed" | "pending";
  title?: string;
  text?: string;
  detailsURL: string;
  originalPipelineRunName?: string;
  /** The run, or (a create that failed) the template PaC tried to create. */
  pipelineRun?: {
    namespace?: string;
    name?: string;
    generateName?: string;
    annotations: Record<string, string>;
  };
}

/** What one CreateStatus call did, for tests to assert on. */
export interface StatusCall {
  name: string;
  state: string;
  description: string;
  targetUrl: string;
  pipelineId?: number;
  /** The project that took it, or undefined when neither did. */
  project?: number;
  error?: string;
  /** The merge-request note CreateStatus wrote with it, if any. */
  note?: boolean;
  /** The run the status speaks of (namespace/name), when it names one. */
  run?: string;
  /** PaC's status (completed, in_progress, queued): a final report is "completed". */
  status: StatusOpts["status"];
  at: number;
}

const pipelineIdKey = "pipelinesascode.tekton.dev/gitlab-pipeline-id";

/**
 * pkg/provider/gitlab/gitlab.go, Provider: one per event (Run) or per reconcile (the watcher), holding the
 * GitLab pipeline id it found; the Repository's token; @gitbeaker/rest where PaC uses go-gitlab.
 */
export class GitLabProvider {
  private pipelineId = 0;
  private readonly commits: InstanceType<typeof Commits>;
  private readonly notes: InstanceType<typeof MergeRequestNotes>;

  private readonly options: {
    kubeConfig: KubeConfig;
    gitlabUrl: string;
    token: string;
    applicationName: string;
    repo: RepositoryRef;
    calls: StatusCall[];
    behaviour: PacBehaviour;
  };

  constructor(options: GitLabProvider["options"]) {
    this.options = options;
    this.commits = new Commits({ host: options.gitlabUrl, token: options.token });
    this.notes = new MergeRequestNotes({ host: options.gitlabUrl, token: options.token });
  }

  /** pkg/provider/provider.go, GetCheckName. */
  checkName(status: StatusOpts): string {
    const app = this.options.applicationName;
    if (app) return status.originalPipelineRunName ? `${app} / ${status.originalPipelineRunName}` : app;
    return status.originalPipelineRunName ?? "";
  }

  /**
   * gitlab.go, CreateStatus, as the version followed has it (versions.ts): the conclusion mapped to a
   * GitLab state ("cancelled" sent as is before v0.39), the status posted to the source project (then the
   * target project, from v0.38), and a merge-request note — for every status before v0.38, only when no
   * project took it from v0.38 on (and, from v0.41, not for a refused transition). Throws only when the
   * note, its last resort, failed too.
   */
  async createStatus(event: PacEvent, status: StatusOpts): Promise<void> {
    const behaviour = this.options.behaviour;
    let state = "";
    let title = status.title ?? "";
    switch (status.conclusion) {
      case "skipped":
        state = behaviour.cancelledMapped ? "skipped" : "canceled";
        title = "skipped validating this commit";
        break;
      case "neutral":
        state = "canceled";
        title = "stopped";
        break;
      case "cancelled":
        // v0.37–v0.38 have no case for it: go-gitlab sends BuildStateValue("cancelled"), GitLab says 400.
        state = behaviour.cancelledMapped ? "canceled" : "cancelled";
        title = behaviour.cancelledMapped ? "cancelled validating this commit" : title;
        break;
      case "failure":
        state = "failed";
        title = "failed";
        break;
      case "success":
        state = "success";
        title = "successfully validated your commit";
        break;
      case "completed":
        state = "success";
        title = "completed";
        break;
      case "pending":
        state = "running";
        break;
    }
    if (status.status === "in_progress") state = "running";
    const name = this.checkName(status);
    let pipelineId: number | undefined;
    if (behaviour.pipelineId) {
      // Reuse a previously discovered pipeline id, so all statuses of the sha land in one GitLab pipeline.
      const fromRun = Number.parseInt(status.pipelineRun?.annotations[pipelineIdKey] ?? "", 10);
      if (Number.isSafeInteger(fromRun)) this.pipelineId = fromRun;
      pipelineId = this.pipelineId || undefined;
    }
    const run = status.pipelineRun?.name
      ? `${status.pipelineRun.namespace}/${status.pipelineRun.name}`
      : undefined;
    const call: StatusCall = {
      name,
      state,
      description: title,
      targetUrl: status.detailsURL,
      pipelineId,
      run,
      status: status.status,
      at: Date.now(),
    };
    this.options.calls.push(call);
    const options = {
      name,
      context: name,
      targetUrl: status.detailsURL,
      description: title,
      ...(pipelineId ? { pipelineId } : {}),
    };
    const projects = behaviour.targetProjectFallback
      ? [event.sourceProjectId, event.targetProjectId]
      : [event.sourceProjectId];
    let lastError: unknown;
    for (const project of projects) {
      try {
        const job = (await this.commits.editStatus(project, event.sha, state as "running", options)) as {
          pipeline_id?: number;
        };
        call.project = project;
        if (behaviour.pipelineId) await this.storePipelineId(status, job.pipeline_id ?? 0);
        break;
      } catch (error) {
        lastError = error;
      }
    }
    if (call.project === undefined) call.error = (lastError as Error).message;
    if (call.error !== undefined) {
      if (!behaviour.targetProjectFallback) {
        await emitMessage(
          this.options.kubeConfig,
          this.options.repo,
          "error",
          "FailedToSetCommitStatus",
          `cannot set status with the GitLab token because of: ${call.error}`,
        );
      } else {
        // Skip creating MR comments if the error is a state transition error (v0.41 and later).
        if (behaviour.ignoresCannotTransition && call.error.includes("Cannot transition status")) return;
        await emitMessage(
          this.options.kubeConfig,
          this.options.repo,
          "info",
          "FailedToSetCommitStatus",
          `failed to create commit status: source project ID ${event.sourceProjectId}, target project ID ${event.targetProjectId}. If you want Gitlab Pipeline Status update, ensure your GitLab token giving it access to the source repository. ${call.error}`,
        );
      }
    } else if (!behaviour.noteForEveryStatus) return;
    // The default comment strategy: a note on the merge request (merge-request events only).
    if (event.pullRequestNumber > 0) {
      const onPr = status.originalPipelineRunName ? `/${status.originalPipelineRunName}` : "";
      const body = `**${this.options.applicationName}${onPr}** has ${title}\n\n${status.text ?? ""}\n\n<small>Full log available [here](${status.detailsURL})</small>`;
      call.note = true;
      await this.notes.create(event.targetProjectId, event.pullRequestNumber, body);
    }
  }

  /** gitlab.go, storePipelineID → patchPipelineIDAnnotation: onto the run, unless it has one. */
  private async storePipelineId(status: StatusOpts, id: number): Promise<void> {
    if (id === 0) return;
    this.pipelineId = id;
    const run = status.pipelineRun;
    if (!run?.name || run.annotations[pipelineIdKey] !== undefined) return;
    await this.options.kubeConfig
      .makeApiClient(CustomObjectsApi)
      .patchNamespacedCustomObject(
        {
          ...pipelineRunResource,
          namespace: run.namespace ?? "",
          name: run.name,
          body: { metadata: { annotations: { [pipelineIdKey]: String(id) } } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      )
      .catch(() => undefined);
  }
}
