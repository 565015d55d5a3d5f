import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import type { Condition, PipelineRun } from "../../core/tekton.ts";
import { taskRunResource } from "../../core/tekton.ts";
import { apiFailure } from "../../kube/api-errors.ts";

interface TaskRunView {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: { conditions?: Condition[]; completionTime?: string };
}

/**
 * The pipeline task that failed first in a failed run, read from its TaskRuns (label
 * tekton.dev/pipelineRun), since a v1 PipelineRun's status no longer embeds them. Remembered per run; a
 * missing TaskRun CRD or permission yields undefined, and the description simply leaves the task out.
 */
export class FailingTasks {
  private readonly api: CustomObjectsApi;
  private readonly known = new Map<string, string | undefined>();

  constructor(kubeConfig: KubeConfig) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async of(run: PipelineRun): Promise<string | undefined> {
    const key = run.metadata.uid ?? `${run.metadata.namespace}/${run.metadata.name}`;
    if (this.known.has(key)) return this.known.get(key);
    let items: TaskRunView[];
    try {
      const list = (await this.api.listNamespacedCustomObject({
        ...taskRunResource,
        namespace: run.metadata.namespace ?? "",
        labelSelector: `tekton.dev/pipelineRun=${run.metadata.name}`,
      })) as { items?: TaskRunView[] };
      items = list.items ?? [];
    } catch (error) {
      const { code } = apiFailure(error);
      if (code === 404 || code === 403) {
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
