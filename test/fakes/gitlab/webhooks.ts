import type { FakeGitLab } from "./server.ts";

/** Where GitLab delivers a project's webhooks, and the secret token it sends (X-Gitlab-Token). */
export interface WebhookTarget {
  url: string;
  secret: string;
}

/**
 * The webhooks GitLab sends for a merge request, shaped as user/project/integrations/webhook_events.md
 * documents them ("Merge request events", "Comment on a merge request"), with the fields PaC's
 * ParsePayload reads (go-gitlab's MergeEvent and MergeCommentEvent). Delivered as GitLab delivers them:
 * POST, JSON, X-Gitlab-Event, X-Gitlab-Token. Resolves with PaC's answer.
 */
export class GitLabWebhooks {
  private readonly gitlab: FakeGitLab;
  private readonly target: WebhookTarget;

  constructor(gitlab: FakeGitLab, target: WebhookTarget) {
    this.gitlab = gitlab;
    this.target = target;
  }

  /**
   * A merge request opened, or updated by a push to its branch (`update`, with `oldrev`: the head before
   * the push — GitLab sends it only for a push, and PaC ignores an update without it as metadata only).
   */
  mergeRequest(projectId: number, iid: number, update?: { oldrev: string }) {
    const action = update ? "update" : "open";
    return this.deliver("Merge Request Hook", {
      object_kind: "merge_request",
      event_type: "merge_request",
      ...this.common(projectId, iid),
      object_attributes: {
        ...this.mergeRequestAttributes(projectId, iid),
        action,
        ...(update ? { oldrev: update.oldrev } : {}),
      },
      labels: [],
      changes: {},
    });
  }

  /** A comment on a merge request: `/retest`, `/retest <pipeline>`, `/ok-to-test`. */
  comment(projectId: number, iid: number, note: string, author?: string) {
    const common = this.common(projectId, iid, author);
    return this.deliver("Note Hook", {
      object_kind: "note",
      event_type: "note",
      ...common,
      object_attributes: {
        id: Math.floor(Math.random() * 1e9),
        note,
        noteable_type: "MergeRequest",
        author_id: common.user.id,
        project_id: projectId,
      },
      merge_request: this.mergeRequestAttributes(projectId, iid),
    });
  }

  private record(projectId: number, iid: number) {
    const record = this.gitlab.repositories.mergeRequest(projectId, iid);
    if (!record) throw new Error(`no merge request !${iid} in project ${projectId}`);
    return record;
  }

  private common(projectId: number, iid: number, author?: string) {
    const record = this.record(projectId, iid);
    const username = author ?? record.author;
    return {
      user: { id: this.gitlab.repositories.userId(username), name: username, username },
      project: this.projectOf(record.targetProjectId),
    };
  }

  private projectOf(projectId: number) {
    const view = this.gitlab.repositories.projectView(String(projectId)).body as {
      id: number;
      web_url: string;
      path_with_namespace: string;
      default_branch: string;
      name: string;
      http_url_to_repo: string;
    };
    return {
      ...view,
      git_http_url: view.http_url_to_repo,
      namespace: view.path_with_namespace.split("/")[0],
    };
  }

  private mergeRequestAttributes(projectId: number, iid: number) {
    const record = this.record(projectId, iid);
    const source = this.projectOf(record.sourceProjectId);
    const target = this.projectOf(record.targetProjectId);
    return {
      id: iid + 10_000,
      iid,
      title: record.title,
      state: "opened",
      source_branch: record.sourceBranch,
      target_branch: record.targetBranch,
      source_project_id: record.sourceProjectId,
      target_project_id: record.targetProjectId,
      author_id: this.gitlab.repositories.userId(record.author),
      url: `${target.web_url}/-/merge_requests/${iid}`,
      source,
      target,
      last_commit: {
        id: record.sha,
        message: "a change",
        title: "a change",
        url: `${source.web_url}/-/commit/${record.sha}`,
        author: { name: record.author, email: `${record.author}@example.com` },
      },
    };
  }

  private async deliver(event: string, payload: unknown): Promise<{ status: number; body: string }> {
    const response = await fetch(this.target.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-gitlab-event": event,
        "x-gitlab-token": this.target.secret,
        "user-agent": "GitLab/18.6.0",
      },
      body: JSON.stringify(payload),
    });
    return { status: response.status, body: await response.text() };
  }
}
