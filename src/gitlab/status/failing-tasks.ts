import type { Condition, PipelineRun } from "../../core/tekton.ts";
import { taskRunResource } from "../../core/tekton.ts";
import { apiFailure } from "../../kube/api-errors.ts";
import { resourcePath } from "../../kube/custom-objects.ts";
import type { KubeHttp } from "../../kube/kube-http.ts";

interface TaskRunView {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: { conditions?: Condition[]; completionTime?: string };
}

/** Lists a namespace's TaskRuns with these query parameters (labelSelector, resourceVersion…). */
export type ListTaskRuns = (
  namespace: string,
  query: Record<string, string>,
) => Promise<{ items?: TaskRunView[] }>;

/**
 * TaskRuns listed over KubeHttp's one HTTP/2 connection: a failure is reported to GitLab only after this
 * list, and client-node's generated client spent a request setup and its serializer on each.
 */
export function taskRunsOver(http: KubeHttp): ListTaskRuns {
  return async (namespace, query) =>
    (await http.call("GET", `${resourcePath(taskRunResource, namespace)}?${new URLSearchParams(query)}`)) as {
      items?: TaskRunView[];
    };
}

/**
 * The pipeline task that failed first in a failed run, read from its TaskRuns (label
 * tekton.dev/pipelineRun), since a v1 PipelineRun's status no longer embeds them. Remembered per run; a
 * missing TaskRun CRD or permission yields undefined, and the description simply leaves the task out.
 *
 * Listed from the API server's watch cache as of the run's own resourceVersion (NotOlderThan): Tekton
 * writes a TaskRun's failure before the PipelineRun's, so that state has it, and the API server answers
 * without first asking etcd for its current revision — that round trip was most of the time a failure took
 * to reach GitLab (`make bench` gitlab: p50 95 ms from the condition's write, 26 ms for a success). If the
 * cache cannot answer so (an old API server, a cache that lags), the list is made plainly.
 */
export class FailingTasks {
  private readonly listTaskRuns: ListTaskRuns;
  private readonly known = new Map<string, string | undefined>();

  constructor(listTaskRuns: ListTaskRuns) {
    this.listTaskRuns = listTaskRuns;
  }

  async of(run: PipelineRun): Promise<string | undefined> {
    const key = run.metadata.uid ?? `${run.metadata.namespace}/${run.metadata.name}`;
    if (this.known.has(key)) return this.known.get(key);
    const labelSelector = `tekton.dev/pipelineRun=${run.metadata.name}`;
    const list = (params: Record<string, string>) =>
      this.listTaskRuns(run.metadata.namespace ?? "", { labelSelector, ...params });
    const version = run.metadata.resourceVersion;
    let items: TaskRunView[];
    try {
      const asOfRun = version
        ? await list({ resourceVersion: version, resourceVersionMatch: "NotOlderThan" }).catch(
            (error: unknown) => {
              if (isRefusal(error)) throw error;
              return list({});
            },
          )
        : await list({});
      items = asOfRun.items ?? [];
    } catch (error) {
      if (isRefusal(error)) {
        this.remember(key, undefined);
        return undefined;
      }
      throw error;
    }
    const failed = items
      .filter((t) => t.status?.conditions?.some((c) => c.type === "Succeeded" && c.status === "False"))
      .sort((a, b) => (a.status?.completionTime ?? "").localeCompare(b.status?.completionTime ?? ""))[0];
    const task = failed?.metadata?.labels?.["tekton.dev/pipelineTask"] ?? failed?.metadata?.name;
    this.remember(key, task);
    return task;
  }

  private remember(key: string, task: string | undefined): void {
    this.known.set(key, task);
    if (this.known.size > 5000) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
  }
}

/** No TaskRun CRD (404) or no permission to list TaskRuns (403): asking again will not help. */
function isRefusal(error: unknown): boolean {
  const { code } = apiFailure(error);
  return code === 404 || code === 403;
}
