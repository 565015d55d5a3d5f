import type { SecretRef } from "../../../src/config/parsers.ts";
import { actualOf, GitLabError, type StatusApi } from "../../../src/gitlab/client/api.ts";
import type { ClientSource } from "../../../src/gitlab/client/gitlab-clients.ts";
import { HostGate } from "../../../src/gitlab/client/host-gate.ts";
import type { GitLabModel, Job, ModelResult } from "./model.ts";

/**
 * The reporter's GitLab clients over the pure GitLabModel, without HTTP: for unit tests of the reporter.
 * Answers as GitLab would (the model judges); `fail` makes the next calls fail as a host or request would.
 */
export class ModelClients implements ClientSource {
  readonly gate = new HostGate(() => 0);
  readonly forgotten: SecretRef[] = [];
  readonly calls: string[] = [];
  /** The next calls fail with these errors, in order, before reaching the model. */
  readonly failures: GitLabError[] = [];
  private readonly model: GitLabModel;
  private readonly tokens: Map<string, string>;

  /** Merge requests GitLab knows, by "project/iid": their source project (for a fork's). */
  readonly mergeRequests = new Map<string, number>();

  constructor(model: GitLabModel, tokens: Record<string, string>) {
    this.model = model;
    this.tokens = new Map(Object.entries(tokens));
  }

  async get(_host: string, secret: SecretRef): Promise<StatusApi> {
    const token = this.tokens.get(`${secret.namespace}/${secret.name}:${secret.key}`);
    const answer = (method: string, result: ModelResult) => {
      const failure = this.failures.shift();
      if (failure) {
        this.calls.push(`${method} ${failure.status}`);
        throw failure;
      }
      this.calls.push(`${method} ${result.status}`);
      if (result.status >= 300) {
        const message = (result.body as { message?: unknown }).message;
        throw new GitLabError(result.status, typeof message === "string" ? message : JSON.stringify(message));
      }
      return result.body;
    };
    return {
      postStatus: async (project, sha, write) => {
        const body = answer(
          "POST",
          this.model.postStatus(token, project, sha, {
            state: write.state,
            name: write.name,
            description: write.description,
            target_url: write.targetUrl,
            pipeline_id: write.pipelineId,
          }),
        ) as Job;
        return actualOf(body);
      },
      statuses: async (project, sha, query) => {
        const jobs = answer(
          "GET",
          this.model.listStatuses(token, project, sha, {
            name: query.name,
            pipeline_id: query.pipelineId,
            all: query.all,
          }),
        ) as Job[];
        return jobs.map(actualOf).sort((a, b) => a.id - b.id);
      },
      // Lookups of what a project and a merge request are: answered, not counted in `calls`.
      projectId: async (path) => {
        const project = this.model.project(path);
        if (!project) throw new GitLabError(404, "404 Project Not Found");
        return project.id;
      },
      mergeRequestSource: async (project, iid) => {
        const source = this.mergeRequests.get(`${this.model.project(project)?.id}/${iid}`);
        if (source === undefined) throw new GitLabError(404, "404 Not found");
        return source;
      },
    };
  }

  forget(secret: SecretRef): void {
    this.forgotten.push(secret);
  }
}
