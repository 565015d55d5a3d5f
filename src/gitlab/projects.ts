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
 * moving on when a project is refused, or when `nothingThere` says the answer found nothing (a fork the
 * token may read, whose commit has none of the statuses PaC wrote to the target project). The last
 * answer is returned, or the last refusal thrown.
 */
export async function onFirstProject<T>(
  projects: readonly string[],
  worked: string | undefined,
  attempt: (project: string) => Promise<T>,
  nothingThere: (result: T) => boolean = () => false,
): Promise<{ project: string; result: T }> {
  const order =
    worked && projects.includes(worked) ? [worked, ...projects.filter((p) => p !== worked)] : projects;
  let refusal: unknown = new Error("no GitLab project to report to");
  let empty: { project: string; result: T } | undefined;
  for (const project of order) {
    try {
      const result = await attempt(project);
      if (!nothingThere(result)) return { project, result };
      empty ??= { project, result };
    } catch (error) {
      if (!projectRefused(error)) throw error;
      refusal = error;
    }
  }
  if (empty) return empty;
  throw refusal;
}
