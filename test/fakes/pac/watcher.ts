import { setTimeout as sleep } from "node:timers/promises";
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { type PipelineRun, pipelineRunResource } from "../../../src/core/tekton.ts";
import { customResourceSource } from "../../../src/kube/custom-objects.ts";
import { Informer } from "../../../src/kube/informer.ts";
import { silentLogger } from "../../../src/observability/logger.ts";
import { gitAuthSecretOf } from "./controller.ts";
import type { PacEvent, StatusOpts } from "./provider.ts";
import type { PacQueueManager } from "./queue.ts";
import type { PacBehaviour } from "./versions.ts";

const key = (name: string) => `pipelinesascode.tekton.dev/${name}`;
const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** reconciler/status.go, backoffSchedule: createStatusWithRetry's waits. */
export const statusRetries = [1000, 3000, 5000];

export interface WatcherContext {
  kubeConfig: KubeConfig;
  namespaces: string[];
  /** The Repository's concurrency limit, merged with the global Repository's (RepositorySpec.Merge). */
  concurrencyLimit(namespace: string, repository: string): Promise<number | undefined>;
  /** PaC's in-memory queue. */
  queue: PacQueueManager;
  /** A provider for one reconcile (initGitProviderClient / detectProvider), with the Repository's token. */
  provider(run: PipelineRun): Promise<{ createStatus(event: PacEvent, status: StatusOpts): Promise<void> }>;
  detailUrl(namespace: string, name: string): string;
  /** Scales statusRetries (tests that do not want to wait for PaC's own retries). */
  retryScale?: number;
  /** What a reconcile takes before it posts a final status (ms; see PacEmulatorOptions). */
  reportDelayMs?: number;
  /** The version followed now. */
  behaviour(): PacBehaviour;
}

/** formatting.PipelineRunStatus: the conclusion PaC reports for a run. */
export function pipelineRunStatus(run: PipelineRun): StatusOpts["conclusion"] {
  const conditions = run.status?.conditions ?? [];
  if (conditions.length === 0) return "neutral";
  if (conditions.find((c) => c.type === "Succeeded")?.reason === "Cancelled") return "cancelled";
  if (conditions[0]?.status === "False") return "failure";
  return "success";
}

/** The event detectProvider rebuilds from a run's annotations. */
export function eventOfRun(run: PipelineRun): PacEvent {
  const a = run.metadata.annotations ?? {};
  return {
    sha: a[key("sha")] ?? "",
    sourceProjectId: Number(a[key("source-project-id")] ?? 0),
    targetProjectId: Number(a[key("target-project-id")] ?? 0),
    pullRequestNumber: Number(a[key("pull-request")] ?? 0),
    eventType: a[key("event-type")] ?? "",
    organization: a[key("url-org")] ?? "",
    repository: a[key("url-repository")] ?? "",
    url: a[key("repo-url")] ?? "",
    headUrl: a[key("source-repo-url")] ?? "",
    sender: a[key("sender")] ?? "",
    baseBranch: a[key("branch")] ?? "",
    headBranch: a[key("source-branch")] ?? "",
    shaTitle: a[key("sha-title")] ?? "",
  };
}

/**
 * pkg/reconciler (PaC's watcher): reconciles only runs that carry the state annotation
 * (controller.go, checkStateAndEnqueue), one reconcile per run at a time, on a fresh read
 * (reconcileKind skips a stale cache). A run Tekton runs that PaC has not reported as started is
 * reported in_progress (updatePipelineRunToInProgress); a run that is done — or merely cancelled — gets
 * its final status (reportFinalStatus → postFinalStatus, createStatusWithRetry), then state completed, and
 * the next run of its Repository's queue is started. A run queued by PaC goes through its in-memory queue
 * (queuePipelineRun). Not emulated: git-auth Secrets, pruning (max-keep-runs), LLM analysis, rebuilding
 * the queue after a restart (InitQueues).
 */
export class PacWatcher {
  private readonly informer: Informer<PipelineRun>;
  private readonly api: CustomObjectsApi;
  private readonly chains = new Map<string, Promise<void>>();
  /** The run as the watcher last read it for a reconcile (its fresh read), by namespace/name. */
  readonly lastRead = new Map<string, PipelineRun>();
  private stopped = false;

  private readonly context: WatcherContext;

  constructor(context: WatcherContext) {
    this.context = context;
    this.api = context.kubeConfig.makeApiClient(CustomObjectsApi);
    this.informer = new Informer<PipelineRun>({
      name: "pac-watcher",
      kubeConfig: context.kubeConfig,
      source: customResourceSource(context.kubeConfig, pipelineRunResource),
      namespaces: context.namespaces,
      labelSelector: "app.kubernetes.io/managed-by=pipelinesascode.tekton.dev",
      transform: (raw) => raw as PipelineRun,
      resyncMs: 30_000,
      logger: silentLogger(),
    });
    this.informer.onChange((run, event) => {
      if (event === "deleted" || run.metadata.annotations?.[key("state")] === undefined) return;
      this.enqueue(`${run.metadata.namespace}/${run.metadata.name}`);
    });
  }

  async start(): Promise<void> {
    this.informer.start();
    await this.informer.whenSynced();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.informer.stop();
    await Promise.all(this.chains.values());
  }

  private enqueue(runKey: string): void {
    const previous = this.chains.get(runKey) ?? Promise.resolve();
    const next = previous
      .then(() => (this.stopped ? undefined : this.reconcile(runKey)))
      .catch(() => undefined);
    this.chains.set(runKey, next);
    void next.then(() => {
      if (this.chains.get(runKey) === next) this.chains.delete(runKey);
    });
  }

  private async reconcile(runKey: string): Promise<void> {
    const [namespace = "", name = ""] = runKey.split("/");
    const cached = this.informer.get(namespace, name);
    if (!cached) return;
    const run = (await this.api
      .getNamespacedCustomObject({ ...pipelineRunResource, namespace, name })
      .catch(() => undefined)) as PipelineRun | undefined;
    if (!run || run.metadata.resourceVersion !== cached.metadata.resourceVersion) return;
    this.lastRead.set(runKey, run);
    const annotations = run.metadata.annotations ?? {};
    const state = annotations[key("state")];
    if (state === "completed" || state === "failed") return;
    if (annotations[key("secret-created")] === "false" && this.context.behaviour().watcherMakesGitAuthSecret)
      await this.createSecretForPipelineRun(run);
    const reason = run.status?.conditions?.[0]?.reason ?? "";
    if (reason === "Running" && annotations[key("scm-reporting-plr-started")] !== "true") {
      await this.updatePipelineRunToInProgress(run);
      return;
    }
    if (state === "queued" && run.spec?.status === "PipelineRunPending") return this.queuePipelineRun(run);
    const done = run.status?.conditions?.some((c) => c.type === "Succeeded" && c.status !== "Unknown");
    if (!done && run.spec?.status !== "Cancelled") return;
    // detectProvider, the Repository and its token's Secret, the client: what PaC does before it posts.
    // It posts what it read at the start of the reconcile, whatever happened to the run meanwhile.
    if (this.context.reportDelayMs) await sleep(this.context.reportDelayMs);
    const reported = await this.createStatusWithRetry(run, {
      status: "completed",
      conclusion: pipelineRunStatus(run),
    });
    await this.patchState(run, reported ? "completed" : "failed");
    await this.startNextPipelineRunInQueue(run);
  }

  /**
   * queue_pipelineruns.go, queuePipelineRun: only a run with execution-order (which PaC patches on only
   * for a Repository with a limit) is queued; the runs of its order that are still Pending and queued go
   * in line, and those that get a slot are started (updatePipelineRunToInProgress).
   */
  private async queuePipelineRun(run: PipelineRun): Promise<void> {
    const order = run.metadata.annotations?.[key("execution-order")];
    const repository = run.metadata.annotations?.[key("repository")];
    if (!order || !repository) return;
    const namespace = run.metadata.namespace ?? "";
    const limit = await this.context.concurrencyLimit(namespace, repository);
    const repoKey = `${namespace}/${repository}`;
    if (limit === 0) {
      this.context.queue.removeFromQueue(repoKey, `${namespace}/${run.metadata.name}`);
      await this.updatePipelineRunToInProgress(run);
      return;
    }
    const ordered: string[] = [];
    for (const entry of order.split(",")) {
      const candidate = await this.read(entry);
      const queued = candidate?.metadata.annotations?.[key("state")] === "queued";
      if (candidate && queued && candidate.spec?.status === "PipelineRunPending") ordered.push(entry);
    }
    for (const acquired of this.context.queue.addListToRunningQueue(repoKey, limit, ordered)) {
      const next = await this.read(acquired);
      if (next) await this.updatePipelineRunToInProgress(next);
      else this.context.queue.removeFromQueue(repoKey, acquired);
    }
  }

  /** reconciler.go, startNextPipelineRunInQueue: the ended run's slot goes to the next in line. */
  private async startNextPipelineRunInQueue(run: PipelineRun): Promise<void> {
    const repository = run.metadata.annotations?.[key("repository")];
    const namespace = run.metadata.namespace ?? "";
    if (!repository) return;
    const limit = await this.context.concurrencyLimit(namespace, repository);
    const next = this.context.queue.removeAndTakeItemFromQueue(
      `${namespace}/${repository}`,
      limit,
      `${namespace}/${run.metadata.name}`,
    );
    const nextRun = next ? await this.read(next) : undefined;
    if (nextRun) await this.updatePipelineRunToInProgress(nextRun);
  }

  /**
   * reconciler.go, createSecretForPipelineRun (v0.45 and later): the git-auth Secret the run names, then
   * secret-created "true". (Its owner reference to the run is left out here.)
   */
  private async createSecretForPipelineRun(run: PipelineRun): Promise<void> {
    const name = run.metadata.annotations?.[key("git-auth-secret")];
    if (!name) return;
    await this.context.kubeConfig
      .makeApiClient(CoreV1Api)
      .createNamespacedSecret({
        namespace: run.metadata.namespace ?? "",
        body: gitAuthSecretOf(name, eventOfRun(run).url),
      })
      .catch(() => undefined);
    await this.api
      .patchNamespacedCustomObject(
        {
          ...pipelineRunResource,
          namespace: run.metadata.namespace ?? "",
          name: run.metadata.name ?? "",
          body: { metadata: { annotations: { [key("secret-created")]: "true" } } },
        },
        merge,
      )
      .catch(() => undefined);
  }

  /** updatePipelineRunToInProgress: state started (un-pending the run), then the in_progress status. */
  private async updatePipelineRunToInProgress(run: PipelineRun): Promise<void> {
    await this.patchState(run, "started");
    await this.createStatusWithRetry(run, { status: "in_progress", conclusion: "pending" });
  }

  private async read(runKey: string): Promise<PipelineRun | undefined> {
    const [namespace = "", name = ""] = runKey.split("/");
    return (await this.api
      .getNamespacedCustomObject({ ...pipelineRunResource, namespace, name })
      .catch(() => undefined)) as PipelineRun | undefined;
  }

  private async createStatusWithRetry(
    run: PipelineRun,
    status: Pick<StatusOpts, "status" | "conclusion">,
  ): Promise<boolean> {
    const namespace = run.metadata.namespace ?? "";
    const name = run.metadata.name ?? "";
    const provider = await this.context.provider(run);
    for (const backoff of statusRetries) {
      try {
        await provider.createStatus(eventOfRun(run), {
          ...status,
          detailsURL: this.context.detailUrl(namespace, name),
          pipelineRun: { namespace, name, annotations: run.metadata.annotations ?? {} },
          originalPipelineRunName: run.metadata.annotations?.[key("original-prname")],
        });
        return true;
      } catch {
        await sleep(backoff * (this.context.retryScale ?? 1));
      }
    }
    return false;
  }

  /** updatePipelineRunState: the state label and annotation; started also un-pends a Pending run. */
  private async patchState(run: PipelineRun, state: string): Promise<void> {
    const annotations: Record<string, string> = { [key("state")]: state };
    if (state === "started") annotations[key("scm-reporting-plr-started")] = "true";
    const body: Record<string, unknown> = { metadata: { labels: { [key("state")]: state }, annotations } };
    if (state === "started" && run.spec?.status === "PipelineRunPending") body.spec = { status: "" };
    await this.api
      .patchNamespacedCustomObject(
        {
          ...pipelineRunResource,
          namespace: run.metadata.namespace ?? "",
          name: run.metadata.name ?? "",
          body,
        },
        merge,
      )
      .catch(() => undefined);
  }
}
