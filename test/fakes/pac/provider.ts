import { Commits, MergeRequestNotes } from "@gitbeaker/rest";
import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { pipelineRunResource } from "../../../src/core/tekton.ts";
import { emitMessage, type RepositoryRef } from "./events.ts";

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
   * gitlab.go, CreateStatus: throws only when neither project took the status and the merge request note
   * (its last resort) failed too.
   */
  async createStatus(event: PacEvent, status: StatusOpts): Promise<void> {
    let state = "";
    let title = status.title ?? "";
    switch (status.conclusion) {
      case "skipped":
        state = "skipped";
        title = "skipped validating this commit";
        break;
      case "neutral":
        state = "canceled";
        title = "stopped";
        break;
      case "cancelled":
        state = "canceled";
        title = "cancelled validating this commit";
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
    // Reuse a previously discovered pipeline id, so all statuses of the sha land in one GitLab pipeline.
    const fromRun = Number.parseInt(status.pipelineRun?.annotations[pipelineIdKey] ?? "", 10);
    if (Number.isSafeInteger(fromRun)) this.pipelineId = fromRun;
    const pipelineId = this.pipelineId || undefined;
    const call: StatusCall = { name, state, description: title, targetUrl: status.detailsURL, pipelineId };
    this.options.calls.push(call);
    const options = {
      name,
      context: name,
      targetUrl: status.detailsURL,
      description: title,
      ...(pipelineId ? { pipelineId } : {}),
    };
    let lastError: unknown;
    for (const project of [event.sourceProjectId, event.targetProjectId]) {
      try {
        const job = (await this.commits.editStatus(project, event.sha, state as "running", options)) as {
          pipeline_id?: number;
        };
        call.project = project;
        await this.storePipelineId(status, job.pipeline_id ?? 0);
        return;
      } catch (error) {
        lastError = error;
      }
    }
    call.error = (lastError as Error).message;
    // Skip creating MR comments if the error is a state transition error.
    if (call.error.includes("Cannot transition status")) return;
    await emitMessage(
      this.options.kubeConfig,
      this.options.repo,
      "info",
      "FailedToSetCommitStatus",
      `failed to create commit status: source project ID ${event.sourceProjectId}, target project ID ${event.targetProjectId}. If you want Gitlab Pipeline Status update, ensure your GitLab token giving it access to the source repository. ${call.error}`,
    );
    // The default comment strategy: a note on the merge request (pull request events only).
    if (event.pullRequestNumber > 0) {
      const onPr = status.originalPipelineRunName ? `/${status.originalPipelineRunName}` : "";
      const body = `**${this.options.applicationName}${onPr}** has ${title}\n\n${status.text ?? ""}\n\n<small>Full log available [here](${status.detailsURL})</small>`;
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
