import type { Repository } from "../core/repository.ts";
import { pac } from "../core/vocabulary.ts";
import { newestStatus } from "../gitlab/client/api.ts";
import type { ClientSource } from "../gitlab/client/gitlab-clients.ts";
import { lineageDesiredStatus } from "../gitlab/status/desired.ts";
import type { FailingTasks } from "../gitlab/status/failing-tasks.ts";
import type { LatestAttempt } from "../gitlab/status/latest.ts";
import type { LineageView } from "../gitlab/status/lineage-view.ts";
import type { Links } from "../gitlab/status/links.ts";
import { onFirstProject, type ReportSettings, reportTarget } from "../gitlab/status/target.ts";
import { converged } from "../gitlab/status/writes.ts";
import { type GitLabComparison, shownStatus } from "./timeline.ts";

export interface GitLabSide {
  repository(name: string): Promise<Repository | undefined>;
  settings: ReportSettings;
  links: Links;
  clients: ClientSource;
  failingTasks: Pick<FailingTasks, "of">;
}

/**
 * Where the lineage's status goes, what the reporter would make it (the same target and desired status),
 * and what GitLab shows now for that name, read with the same token; agreeing as the reporter judges it
 * (PaC's wording of the same state and run is left alone). A GitLab that cannot be read is said, not thrown.
 */
export async function compareWithGitLab(
  view: LineageView,
  latest: LatestAttempt,
  side: GitLabSide,
): Promise<GitLabComparison> {
  const repository = await side.repository(latest.reportFrom.metadata.annotations?.[pac.repository] ?? "");
  const target = reportTarget(latest.run ?? latest.reportFrom, repository, side.settings);
  if ("refused" in target) return { notReported: `refused: ${target.refused}` };
  if ("skip" in target) return { notReported: target.skip };
  const desired = await lineageDesiredStatus(view, latest, side.links, side.failingTasks);
  const comparison: GitLabComparison = {
    target: { host: target.host, projects: target.projects, sha: target.sha, context: target.context },
    should: {
      state: desired.state,
      description: desired.description,
      targetUrl: desired.targetUrl,
      attempt: desired.attempt,
    },
  };
  try {
    const api = await side.clients.get(target.host, target.secret);
    const { result } = await onFirstProject(target.projects, undefined, (project) =>
      api.statuses(project, target.sha, { name: target.context, pipelineId: target.pipelineId }),
    );
    const job = newestStatus(result);
    if (!job) return { ...comparison, showsError: "GitLab shows no status of this name on the commit" };
    return { ...comparison, shows: shownStatus(job), agrees: converged(job, desired) };
  } catch (error) {
    return { ...comparison, showsError: `GitLab could not be read: ${(error as Error).message}` };
  }
}
