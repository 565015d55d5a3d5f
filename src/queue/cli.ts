import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import {
  pacLimitOf,
  repositoryQueue,
  repositoryResource,
  repositoryView,
  trimRepository,
} from "../core/repository.ts";
import { type ActionResult, RunActions } from "../core/run-actions.ts";
import { isPending, type PipelineRun, pipelineRunResource } from "../core/tekton.ts";
import { leaseLabels } from "../core/vocabulary.ts";
import { apiFailure } from "../kube/api-errors.ts";
import { HttpLeaseStore } from "../kube/lease-http.ts";
import { silentLogger } from "../observability/logger.ts";
import { optInConflict } from "./choose.ts";
import { queueIdOf, queueLeaseKind, queueLeaseName, readQueueState } from "./state.ts";
import { formatQueues, type QueueSummary, summarizeQueues } from "./view.ts";

/** Every queue, and every Repository whose opt-in is refused because PaC enforces a limit on it itself. */
export interface QueueReport {
  queues: QueueSummary[];
  refusedOptIns: string[];
}

/** The queues as the cluster holds them, read with the caller's rights. */
export async function readQueues(
  kubeConfig: KubeConfig,
  namespace: string,
  pac: { namespace: string; globalRepository: string },
): Promise<QueueReport> {
  const store = new HttpLeaseStore(kubeConfig, namespace);
  const leases = await store.list(`${leaseLabels.kind}=${queueLeaseKind}`).finally(() => store.close());
  return { queues: summarizeQueues(leases), refusedOptIns: await refusedOptIns(kubeConfig, pac) };
}

/** The report as text: each queue, its limit, who runs and who waits, in order; then refused opt-ins. */
export function formatQueueReport(report: QueueReport): string {
  const notes = report.refusedOptIns.map((r) => `refused opt-in: ${r}\n`).join("");
  return `${formatQueues(report.queues)}${notes ? `\n${notes}` : ""}`;
}

/** `tekton-lineage queue list` (--output json: the report as JSON). */
export async function listQueues(
  kubeConfig: KubeConfig,
  namespace: string,
  output: "text" | "json",
  pac: { namespace: string; globalRepository: string },
): Promise<string> {
  const report = await readQueues(kubeConfig, namespace, pac);
  return output === "json" ? `${JSON.stringify(report, null, 2)}\n` : formatQueueReport(report);
}

/** The opt-ins PaC would override, from every Repository the caller may list (none if it may list none). */
async function refusedOptIns(
  kubeConfig: KubeConfig,
  pac: { namespace: string; globalRepository: string },
): Promise<string[]> {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  try {
    const list = (await api.listCustomObjectForAllNamespaces({
      group: repositoryResource.group,
      version: repositoryResource.version,
      resourcePlural: repositoryResource.plural,
    })) as {
      items: unknown[];
    };
    const repositories = list.items.map(trimRepository);
    const global = repositories.find(
      (r) => r.metadata.namespace === pac.namespace && r.metadata.name === pac.globalRepository,
    );
    return repositories.flatMap((repository) => {
      const view = repositoryView(repository);
      const pacLimit = view ? pacLimitOf(view, repositoryView(global)) : undefined;
      return view && pacLimit && repositoryQueue(view, 0).optedIn ? [optInConflict(view, pacLimit)] : [];
    });
  } catch {
    return [];
  }
}

/**
 * `tekton-lineage queue clear <key>`: cancels every run waiting in the queue (each only if it is still
 * Pending: a test operation guards the patch). Runs that already started are left alone. The reconciler
 * then drops the cancelled runs from the line.
 */
export async function clearQueue(kubeConfig: KubeConfig, namespace: string, key: string): Promise<string> {
  const store = new HttpLeaseStore(kubeConfig, namespace);
  const lease = await store.get(queueLeaseName(queueIdOf(key))).finally(() => store.close());
  const state = readQueueState(lease);
  if (!state) return `no queue ${key}\n`;
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  // The one way runs are cancelled (RunActions): Pending only, and PaC's report taken over in the same
  // write, so PaC's watcher never reports the cancelled run (a success, while it is still Unknown).
  const actions = new RunActions(kubeConfig, silentLogger(), () => {
    throw new Error("queue clear signs no claims");
  });
  const lines: string[] = [];
  for (const entry of state.waiting) {
    const [runNamespace = "", name = ""] = entry.run.split("/");
    try {
      const run = (await api.getNamespacedCustomObject({
        ...pipelineRunResource,
        namespace: runNamespace,
        name,
      })) as PipelineRun;
      const result = isPending(run)
        ? await actions.cancel(run, `cancelled: queue ${key} cleared`, { byOperator: true })
        : "changed";
      lines.push(result === "done" ? `cancelled ${entry.run}` : `skipped ${entry.run}: ${skipped[result]}`);
    } catch (error) {
      lines.push(`skipped ${entry.run}: ${apiFailure(error).message}`);
    }
  }
  return `${lines.join("\n")}${lines.length ? "\n" : ""}cleared queue ${key}: ${lines.filter((l) => l.startsWith("cancelled")).length} of ${state.waiting.length} waiting runs cancelled\n`;
}

const skipped: Record<Exclude<ActionResult, "done">, string> = {
  changed: "no longer Pending",
  gone: "no longer exists",
  later: "Pipelines-as-Code has not taken it over yet; clear again in a moment",
  refused: "Pipelines-as-Code's own queue holds it",
};
