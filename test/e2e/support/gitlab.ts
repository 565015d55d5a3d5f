import { randomBytes } from "node:crypto";
import { CoreV1Api } from "@kubernetes/client-node";
import type { Job, PipelineView } from "../../fakes/gitlab/model.ts";
import { FakeGitLab } from "../../fakes/gitlab/server.ts";
import { adminKubeConfig } from "./context.ts";
import { eventually } from "./poll.ts";
import { grantRepositoryTokens } from "./repository-tokens.ts";

export type { Job, PipelineView } from "../../fakes/gitlab/model.ts";

/** The Repository's token: PaC and tekton-lineage both write with it, so in GitLab they are one user. */
export const gitlabToken = "glpat-e2e-0123456789";
export const gitlabUser = "repository-bot";
export const projectId = 1001;
/** A fork of the project, which the Repository's token cannot write to. */
export const forkProjectId = 2001;
export const sourceBranch = "feature/login";
export const mergeRequest = 42;

/**
 * A fake GitLab with the demo project (and a fork of it) and the Repository's token, and that token as a
 * Secret in `namespace`, which tekton-lineage may read (the RoleBinding the install documents for
 * namespaces with Repositories).
 */
export async function startFakeGitLab(namespace: string): Promise<FakeGitLab> {
  const gitlab = await new FakeGitLab().start();
  gitlab.model.addProject(projectId, "demo/demo-repo");
  gitlab.model.addProject(forkProjectId, "contributor/demo-repo");
  gitlab.model.addToken(gitlabToken, gitlabUser, [projectId]);
  await shareGitLabToken(gitlab, namespace);
  return gitlab;
}

/** The Repository's token as a Secret in one more namespace, readable by tekton-lineage. */
export async function shareGitLabToken(gitlab: FakeGitLab, namespace: string): Promise<void> {
  await adminKubeConfig()
    .makeApiClient(CoreV1Api)
    .createNamespacedSecret({
      namespace,
      body: { metadata: { name: gitProviderOf(gitlab).secret.name }, stringData: { token: gitlabToken } },
    });
  await grantRepositoryTokens(adminKubeConfig(), namespace);
}

/** A Repository's git_provider for this fake GitLab, with the token Secret startFakeGitLab made. */
export function gitProviderOf(gitlab: FakeGitLab) {
  return { url: gitlab.url, type: "gitlab", secret: { name: "gitlab-token", key: "token" } };
}

/**
 * A new commit on the merge request's source branch. With `ciPipeline`, the project also runs GitLab CI
 * for merge requests: GitLab made a pipeline for refs/merge-requests/<n>/head, which statuses sent
 * without a ref (as PaC's) join. With `fork`, the commit lives in the fork too (a merge request from it).
 */
export function newCommit(
  gitlab: FakeGitLab,
  options: { ciPipeline?: boolean; fork?: boolean } = {},
): string {
  const sha = randomBytes(20).toString("hex");
  gitlab.model.addCommit(
    projectId,
    sha,
    options.fork ? `refs/merge-requests/${mergeRequest}/head` : sourceBranch,
  );
  if (options.fork) gitlab.model.addCommit(forkProjectId, sha, sourceBranch);
  if (options.ciPipeline)
    gitlab.model.addPipeline(projectId, sha, `refs/merge-requests/${mergeRequest}/head`);
  return sha;
}

/** Every job of the commit, oldest first, from the fake's read-only view. */
export async function jobsOf(gitlab: FakeGitLab, sha: string, project = projectId): Promise<Job[]> {
  const response = await fetch(`${gitlab.url}/__fake/projects/${project}/commits/${sha}/statuses`);
  return (await response.json()) as Job[];
}

/** Every pipeline of the commit with its composite status: what the merge request shows. */
export async function pipelinesOf(
  gitlab: FakeGitLab,
  sha: string,
  project = projectId,
): Promise<PipelineView[]> {
  const response = await fetch(`${gitlab.url}/__fake/projects/${project}/commits/${sha}/pipelines`);
  return (await response.json()) as PipelineView[];
}

/** The job GitLab shows now for a context (newest not retried). */
export async function shown(
  gitlab: FakeGitLab,
  sha: string,
  context: string,
  project = projectId,
): Promise<Job | undefined> {
  return (await jobsOf(gitlab, sha, project))
    .filter((j) => j.name === context && !j.retried)
    .sort((a, b) => b.id - a.id)[0];
}

/**
 * What the merge request shows, in one line per pipeline: its composite status and its latest jobs
 * (name, status, description, link). For assertions and for messages when a wait times out.
 */
export async function mergeRequestView(gitlab: FakeGitLab, sha: string): Promise<string[]> {
  return (await pipelinesOf(gitlab, sha)).map(
    (p) =>
      `${p.ref} ${p.status}: ${p.jobs
        .filter((j) => !j.retried)
        .map((j) => `[${j.name}] ${j.status} "${j.description ?? ""}" → ${j.target_url || "(no link)"}`)
        .join("; ")}`,
  );
}

/**
 * Waits until the job GitLab shows for `context` on `sha` matches, and returns it; when it never does,
 * says what GitLab showed and the commit's whole history of jobs.
 */
export async function shownWhen(
  gitlab: FakeGitLab,
  what: string,
  sha: string,
  matches: (job: Job) => boolean,
  options: { context: string; project?: number; timeoutMs?: number },
): Promise<Job> {
  const project = options.project ?? projectId;
  let last: Job | undefined;
  try {
    return await eventually(
      `${what} (GitLab shows: ${options.context})`,
      async () => {
        last = await shown(gitlab, sha, options.context, project);
        return last && matches(last) ? last : undefined;
      },
      { timeoutMs: options.timeoutMs ?? 30_000 },
    );
  } catch (error) {
    const history = (await jobsOf(gitlab, sha, project)).map(
      (j) =>
        `${j.id} ${j.name} ${j.status} "${j.description}" ${j.target_url}${j.retried ? " (retried)" : ""}`,
    );
    throw new Error(
      `${(error as Error).message}; shows ${JSON.stringify(last)}; history:\n${history.join("\n")}`,
    );
  }
}
