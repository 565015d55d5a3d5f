import type { GitLabModel, ModelResult } from "./model.ts";
import type { GitLabRepositories } from "./repositories.ts";

export type RouteResult = ModelResult & { headers?: Record<string, string>; raw?: string };

/**
 * The read endpoints of GitLab's REST API that Pipelines-as-Code's GitLab provider calls on a merge
 * request event (pkg/provider/gitlab: SetClient, IsAllowed, GetTektonDir, GetFileInsideRepo,
 * GetCommitInfo, GetFiles, CreateComment), each following the GitLab API page named beside it. A token
 * must be known (401); a project its token may not read answers 404, as GitLab hides it.
 */
export function routeRepositoryApi(
  model: GitLabModel,
  repos: GitLabRepositories,
  request: { method: string; path: string; query: URLSearchParams; token: string | undefined; body: unknown },
): RouteResult | undefined {
  const { method, path, query } = request;
  if (!path.startsWith("/api/v4/")) return undefined;
  const auth = model.authenticate(request.token);
  if (!auth) return { status: 401, body: { message: "401 Unauthorized" } };

  // api/users.html#list-current-user
  if (method === "GET" && path === "/api/v4/user") {
    return {
      status: 200,
      body: { id: repos.userId(auth.user), username: auth.user, name: auth.user, state: "active" },
    };
  }
  const projectMatch = /^\/api\/v4\/projects\/([^/]+)(\/.*)?$/.exec(path);
  if (!projectMatch) return undefined;
  const project = model.project(decodeURIComponent(projectMatch[1] ?? ""));
  if (!project || (auth.projects !== "*" && !auth.projects.has(project.id)))
    return { status: 404, body: { message: "404 Project Not Found" } };
  const rest = projectMatch[2] ?? "";

  // api/projects.html#get-a-single-project
  if (method === "GET" && rest === "") return repos.projectView(String(project.id));

  // api/members.html#get-a-member-of-a-group-or-project-including-inherited-and-invited-members
  const member = /^\/members\/all\/(\d+)$/.exec(rest);
  if (method === "GET" && member) {
    const userId = Number(member[1]);
    const level = repos.accessLevel(project.id, userId);
    if (level === undefined) return { status: 404, body: { message: "404 Member Not Found" } };
    const username = repos.usernameOf(userId) ?? `user${userId}`;
    return {
      status: 200,
      body: { id: userId, username, name: username, state: "active", access_level: level },
    };
  }

  // api/repositories.html#list-repository-tree (recursive; one page: x-next-page empty)
  if (method === "GET" && rest === "/repository/tree") {
    const files = repos.filesAt(project.id, query.get("ref") ?? "");
    if (!files) return { status: 404, body: { message: "404 Tree Not Found" } };
    const dir = (query.get("path") ?? "").replace(/\/+$/, "");
    const recursive = query.get("recursive") === "true";
    const entries = [...files.keys()]
      .filter((p) => (dir ? p.startsWith(`${dir}/`) : true))
      .filter((p) => recursive || !p.slice(dir ? dir.length + 1 : 0).includes("/"))
      .map((p) => ({ id: hashOf(p), name: p.split("/").at(-1), type: "blob", path: p, mode: "100644" }));
    return { status: 200, body: entries, headers: pageHeaders(entries.length) };
  }

  // api/repository_files.html#get-raw-file-from-repository
  const raw = /^\/repository\/files\/(.+)\/raw$/.exec(rest);
  if (method === "GET" && raw) {
    const content = repos.filesAt(project.id, query.get("ref") ?? "")?.get(decodeURIComponent(raw[1] ?? ""));
    if (content === undefined) return { status: 404, body: { message: "404 File Not Found" } };
    return { status: 200, body: undefined, raw: content };
  }

  // api/commits.html#get-a-single-commit and #get-the-diff-of-a-commit
  const commit = /^\/repository\/commits\/([0-9a-f]{6,40})(\/diff)?$/.exec(rest);
  if (method === "GET" && commit) {
    const sha = commit[1] ?? "";
    if (!model.hasCommit(project.id, sha)) return { status: 404, body: { message: "404 Commit Not Found" } };
    if (commit[2]) return { status: 200, body: [], headers: pageHeaders(0) };
    return {
      status: 200,
      body: {
        id: sha,
        short_id: sha.slice(0, 8),
        title: "a change",
        message: "a change",
        author_name: "developer",
        author_email: "developer@example.com",
        committer_name: "developer",
        committer_email: "developer@example.com",
        web_url: `${repos.baseUrl}/${project.path}/-/commit/${sha}`,
        parent_ids: [],
      },
    };
  }

  // api/branches.html#get-single-repository-branch
  const branch = /^\/repository\/branches\/(.+)$/.exec(rest);
  if (method === "GET" && branch) {
    const name = decodeURIComponent(branch[1] ?? "");
    const sha = model.headOf(project.id, name);
    if (!sha) return { status: 404, body: { message: "404 Branch Not Found" } };
    return { status: 200, body: { name, commit: { id: sha, short_id: sha.slice(0, 8), title: "a change" } } };
  }

  // api/merge_requests.html#get-single-mr, #list-merge-request-diffs; api/discussions.html; api/notes.html
  const mr = /^\/merge_requests\/(\d+)(\/diffs|\/discussions|\/notes(?:\/(\d+))?)?$/.exec(rest);
  if (mr) {
    const record = repos.mergeRequest(project.id, Number(mr[1]));
    if (!record) return { status: 404, body: { message: "404 Merge Request Not Found" } };
    const sub = mr[2] ?? "";
    if (method === "GET" && sub === "")
      return {
        status: 200,
        body: {
          iid: record.iid,
          title: record.title,
          state: "opened",
          sha: record.sha,
          source_branch: record.sourceBranch,
          target_branch: record.targetBranch,
          source_project_id: record.sourceProjectId,
          target_project_id: record.targetProjectId,
          labels: [],
          author: { id: repos.userId(record.author), username: record.author },
          web_url: `${repos.baseUrl}/${project.path}/-/merge_requests/${record.iid}`,
        },
      };
    if (method === "GET" && (sub === "/diffs" || sub === "/discussions"))
      return { status: 200, body: [], headers: pageHeaders(0) };
    if (method === "GET" && sub === "/notes") {
      const notes = model.notes.filter(
        (n) => n.project_id === project.id && n.merge_request_iid === record.iid,
      );
      return { status: 200, body: notes, headers: pageHeaders(notes.length) };
    }
    if (method === "GET" && mr[3]) {
      const note = model.notes.find((n) => n.id === Number(mr[3]));
      return note ? { status: 200, body: note } : { status: 404, body: { message: "404 Note Not Found" } };
    }
  }
  return undefined;
}

/** GitLab's pagination headers for a list that fits one page. */
function pageHeaders(total: number): Record<string, string> {
  return {
    "x-page": "1",
    "x-per-page": "100",
    "x-total": String(total),
    "x-total-pages": "1",
    "x-next-page": "",
  };
}

function hashOf(text: string): string {
  let h = 0;
  for (const c of text) h = (h * 31 + (c.codePointAt(0) ?? 0)) >>> 0;
  return h.toString(16).padStart(40, "0");
}
