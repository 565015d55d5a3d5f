import { isDone, succeededCondition } from "../core/tekton.ts";
import { attemptOf } from "../lineage/supersede.ts";
import { type DesiredStatus, desiredStatus } from "./desired.ts";
import type { FailingTasks } from "./failing-task.ts";
import type { LatestAttempt } from "./latest.ts";
import type { LineageView } from "./lineage-view.ts";
import type { Links } from "./links.ts";

/**
 * What GitLab should show for a lineage whose latest attempt is `latest`: its status, and every link that
 * names a run of the lineage with the attempt it names. The reporter writes it; `explain` shows it.
 */
export async function lineageDesiredStatus(
  view: LineageView,
  latest: LatestAttempt,
  links: Links,
  failingTasks: Pick<FailingTasks, "of">,
): Promise<DesiredStatus> {
  const failed = latest.run && isDone(latest.run) && succeededCondition(latest.run)?.status === "False";
  const attemptLinks = new Map<string, number>();
  for (const run of view.runs) for (const link of links.namesOf(run)) attemptLinks.set(link, attemptOf(run));
  const status = desiredStatus(
    {
      attempt: latest.attempt,
      name: latest.name,
      namespace: view.namespace,
      lineageId: view.lineageId,
      run: latest.run,
      creationError: latest.creationError,
      failingTask: failed && latest.run ? await failingTasks.of(latest.run) : undefined,
    },
    links,
  );
  return { ...status, attemptLinks };
}
