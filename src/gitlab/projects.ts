import { GitLabError } from "./api.ts";

/**
 * GitLab's answer that a project is not one this token may write to (403), or does not know it, its
 * commit or the pipeline (404): for a merge request from a fork, the token of the Repository usually cannot
 * write to the fork, and PaC's pipeline id is the target project's.
 */
export function projectRefused(error: unknown): boolean {
  return error instanceof GitLabError && (error.status === 403 || error.status === 404);
}

/**
 * Runs `attempt` on the projects in order — the one that worked last first, then the merge request's
 * source project, then its target project, as PaC does (pkg/provider/gitlab/gitlab.go, CreateStatus) —
 * moving on only when a project is refused. The last refusal is thrown.
 */
export async function onFirstProject<T>(
  projects: readonly string[],
  worked: string | undefined,
  attempt: (project: string) => Promise<T>,
): Promise<{ project: string; result: T }> {
  const order =
    worked && projects.includes(worked) ? [worked, ...projects.filter((p) => p !== worked)] : projects;
  let refusal: unknown = new Error("no GitLab project to report to");
  for (const project of order) {
    try {
      return { project, result: await attempt(project) };
    } catch (error) {
      if (!projectRefused(error)) throw error;
      refusal = error;
    }
  }
  throw refusal;
}
