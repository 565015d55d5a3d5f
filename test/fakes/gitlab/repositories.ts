import type { GitLabModel, ModelResult } from "./model.ts";

/**
 * What a real Pipelines-as-Code needs of GitLab besides commit statuses, as data: users, the projects'
 * pages, their files at each commit (the `.tekton/` directory PaC reads), merge requests and members.
 * The HTTP side is repository-routes.ts; the webhooks GitLab sends are webhooks.ts.
 */
export interface MergeRequestRecord {
  iid: number;
  title: string;
  sourceProjectId: number;
  targetProjectId: number;
  sourceBranch: string;
  targetBranch: string;
  sha: string;
  author: string;
}

/** GitLab's access levels (api/members.html#roles): 30 developer, 40 maintainer. */
export const developerAccess = 30;
export const maintainerAccess = 40;

export class GitLabRepositories {
  private readonly users = new Map<string, number>();
  private readonly files = new Map<string, Map<string, string>>();
  private readonly mergeRequests = new Map<string, MergeRequestRecord>();
  /** project id → user id → access level; a project with no entry lets every known user maintain it. */
  private readonly members = new Map<number, Map<number, number>>();
  private readonly model: GitLabModel;
  /** The fake's own address, for the web_url GitLab puts in its answers and webhooks. */
  baseUrl = "";

  constructor(model: GitLabModel) {
    this.model = model;
  }

  /** A user's id, made on first use (GitLab's ids are stable per user). */
  userId(username: string): number {
    const known = this.users.get(username);
    if (known !== undefined) return known;
    const id = 100 + this.users.size;
    this.users.set(username, id);
    return id;
  }

  usernameOf(id: number): string | undefined {
    return [...this.users].find(([, known]) => known === id)?.[0];
  }

  /** The files of a commit (path → content), as a push puts them there; the commit joins `branch`. */
  pushFiles(projectId: number, sha: string, branch: string, files: Record<string, string>): void {
    this.model.addCommit(projectId, sha, branch);
    this.files.set(`${projectId}/${sha}`, new Map(Object.entries(files)));
  }

  /** The files at a ref: a commit sha, or a branch (its newest commit), as GitLab resolves `ref`. */
  filesAt(projectId: number, ref: string): Map<string, string> | undefined {
    const sha = /^[0-9a-f]{40}$/.test(ref) ? ref : this.model.headOf(projectId, ref);
    return sha === undefined ? undefined : this.files.get(`${projectId}/${sha}`);
  }

  openMergeRequest(projectId: number, record: MergeRequestRecord): void {
    this.mergeRequests.set(`${projectId}/${record.iid}`, record);
  }

  mergeRequest(projectId: number, iid: number): MergeRequestRecord | undefined {
    return this.mergeRequests.get(`${projectId}/${iid}`);
  }

  setMember(projectId: number, username: string, accessLevel: number): void {
    const levels = this.members.get(projectId) ?? new Map<number, number>();
    levels.set(this.userId(username), accessLevel);
    this.members.set(projectId, levels);
  }

  accessLevel(projectId: number, userId: number): number | undefined {
    const levels = this.members.get(projectId);
    if (!levels) return this.usernameOf(userId) ? maintainerAccess : undefined;
    return levels.get(userId);
  }

  /** GET /projects/:id — api/projects.html#get-a-single-project (the fields PaC reads). */
  projectView(idOrPath: string): ModelResult {
    const project = this.model.project(idOrPath);
    if (!project) return { status: 404, body: { message: "404 Project Not Found" } };
    const webUrl = `${this.baseUrl}/${project.path}`;
    return {
      status: 200,
      body: {
        id: project.id,
        name: project.path.split("/").at(-1),
        path: project.path.split("/").at(-1),
        path_with_namespace: project.path,
        web_url: webUrl,
        http_url_to_repo: `${webUrl}.git`,
        default_branch: "main",
        namespace: { full_path: project.path.split("/").slice(0, -1).join("/") },
      },
    };
  }
}
