import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { repositoryResource } from "../../../src/core/repository.ts";
import type { PipelineRun } from "../../../src/core/tekton.ts";
import { type ConsoleUI, consoleFromConfig } from "./console.ts";
import { runEvent, type StartResult } from "./controller.ts";
import { type RunTemplate, resolvedTemplate } from "./labels.ts";
import { GitLabProvider, type PacEvent, type StatusCall } from "./provider.ts";
import { PacQueueManager } from "./queue.ts";
import { behaviourOf, type PacVersion } from "./versions.ts";
import { PacWatcher } from "./watcher.ts";

export type { PacVersion } from "./versions.ts";

/*
 * Where the real binaries disagreed with this emulator (test/e2e/pac-real.e2e.test.ts, PaC v0.37.0 and
 * v0.50.0 built from their modules, Tekton v1.6.0 on kwok), and what the emulator does now:
 *
 * 1. v0.37.0 posts a status to the merge request's source project only, and writes a merge-request note
 *    for every status of a merge-request event whatever GitLab answered; from v0.38.0 (49df439b4) the
 *    target project is tried next and a note is written only when neither took the status. The emulator
 *    played v0.50's provider in every mode; now each version's (versions.ts, provider.ts).
 * 2. Both cancel the older runs of the same pipeline, merge request and branch when a template says
 *    cancel-in-progress — on a /retest and on a push (cancel_pipelineruns.go, CancelledRunFinally, which
 *    the watcher does not report until Tekton ends the run). The emulator did not; now it does
 *    (controller.ts, cancelInProgress).
 * 3. v0.37.0 sends the "cancelled" conclusion of such a run as is: GitLab answers 400, PaC records a
 *    FailedToSetCommitStatus Event (and its note). Emulated since versions.ts; tekton-lineage now takes
 *    the report of any run someone else cancelled (gitlab/status/pac-reports.ts).
 * 4. Before v0.45 startPR makes the run's git-auth Secret before its create and deletes it when the create
 *    answers an error (even a lost answer); from v0.45 the watcher makes it (secret-created "false") and
 *    deletes it again when the run is done (kubeinteraction/cleanups.go, not emulated). Emulated since.
 * 5. A template's `name` becomes `generateName` only in PaC's remote-tasks resolve (resolve/remote.go,
 *    ropt.GenerateName; ConfigMap remote-tasks, on by default): with remote-tasks off PaC creates the name
 *    as written and the second run of a pipeline is refused "already exists". The emulator always uses
 *    generateName: PaC's default.
 * 6. A merge-request "update" hook without `oldrev` is ignored as a metadata change (provider/gitlab/
 *    detect.go); GitLab sends `oldrev` on a push. v0.37.0 reads .tekton/ at the merge request's head
 *    branch, v0.50.0 at the commit. (The fake GitLab's webhooks and files follow; the emulator takes
 *    templates directly.)
 * 7. The watcher posts a run's final status 24–128 ms after the run is seen done (measured in the bed,
 *    from this process's watch to the POST): `reportDelayMs` plays that time.
 */

export interface PacEmulatorOptions {
  kubeConfig: KubeConfig;
  /** Namespaces PaC's watcher watches. */
  namespaces: string[];
  gitlabUrl: string;
  version: PacVersion;
  /** PaC's ConfigMap data (application-name, custom-console-url, …), as PaC reads it. */
  config: Record<string, string>;
  /** Scales the watcher's createStatusWithRetry waits (1, 3, 5 s). */
  retryScale?: number;
  /**
   * What a watcher reconcile takes before it posts (ms): its fresh read, the Repository, the token's
   * Secret, the client. Measured on the real watcher in the test bed (testbed/README.md).
   */
  reportDelayMs?: number;
  /** Run PaC's watcher too (default); false when another emulator's watcher already watches. */
  watch?: boolean;
  /** Where PaC is installed: its global Repository (pipelines-as-code) lives there. */
  pacNamespace?: string;
}

/** A merge request as the emulator raises events for it. */
export interface MergeRequest {
  namespace: string;
  repository: string;
  sha: string;
  number: number;
  sourceProjectId: number;
  targetProjectId: number;
  sourceBranch?: string;
  targetBranch?: string;
}

/**
 * Pipelines-as-Code, emulated step by step from its source for tests, the demo and `make run`: its
 * controller (an event → startPR of each matched pipeline; failures recorded and reported), its GitLab
 * provider (CreateStatus with the Repository's token) and its watcher (final statuses). Every status it
 * posts is kept in `statuses`.
 */
export class PacEmulator {
  readonly statuses: StatusCall[] = [];
  readonly console: ConsoleUI;
  /** The version followed; a test may switch it between events. */
  version: PacVersion;
  private readonly watcher: PacWatcher;

  private readonly options: PacEmulatorOptions;

  constructor(options: PacEmulatorOptions) {
    this.options = options;
    this.version = options.version;
    this.console = consoleFromConfig(options.config);
    this.watcher = new PacWatcher({
      kubeConfig: options.kubeConfig,
      namespaces: options.namespaces,
      concurrencyLimit: async (namespace, name) => (await this.repository(namespace, name)).concurrencyLimit,
      queue: new PacQueueManager(),
      provider: (run) =>
        this.provider({
          namespace: run.metadata.namespace ?? "",
          name: run.metadata.annotations?.["pipelinesascode.tekton.dev/repository"] ?? "",
        }),
      detailUrl: (namespace, name) => this.console.detailUrl(namespace, name),
      retryScale: options.retryScale,
      reportDelayMs: options.reportDelayMs,
      behaviour: () => behaviourOf(this.version),
    });
  }

  get applicationName(): string {
    return this.options.config["application-name"] || "Pipelines as Code CI";
  }

  async start(): Promise<this> {
    if (this.options.watch !== false) await this.watcher.start();
    return this;
  }

  /** The run as PaC's watcher last read it for a reconcile, if it has. */
  watcherRead(namespace: string, name: string): PipelineRun | undefined {
    return this.watcher.lastRead.get(`${namespace}/${name}`);
  }

  async stop(): Promise<void> {
    if (this.options.watch !== false) await this.watcher.stop();
  }

  /**
   * A merge request opened or updated (event type "Merge Request"): every pipeline is started. With
   * `answerLost`, the API server stores each run but PaC gets client-go's timeout back.
   */
  open(
    mr: MergeRequest,
    pipelines: readonly (string | RunTemplate)[],
    options: { answerLost?: boolean } = {},
  ): Promise<StartResult[]> {
    return this.event(mr, "Merge Request", pipelines, options);
  }

  /**
   * A push of the merge request's commit to its branch (event type "push"): no merge request number, so
   * its runs are a lineage of their own — sharing the status name `<app> / <pipeline>` with the merge
   * request's runs of the same commit.
   */
  push(mr: MergeRequest, pipelines: readonly (string | RunTemplate)[]): Promise<StartResult[]> {
    return this.event({ ...mr, number: 0 }, "push", pipelines);
  }

  /** A `/retest` comment on the merge request (opscomments: retest-all-comment). */
  retest(mr: MergeRequest, pipelines: readonly (string | RunTemplate)[]): Promise<StartResult[]> {
    return this.event(mr, "retest-all-comment", pipelines);
  }

  private async event(
    mr: MergeRequest,
    eventType: string,
    pipelines: readonly (string | RunTemplate)[],
    options: { answerLost?: boolean } = {},
  ): Promise<StartResult[]> {
    const repo = await this.repository(mr.namespace, mr.repository);
    const event: PacEvent = {
      sha: mr.sha,
      sourceProjectId: mr.sourceProjectId,
      targetProjectId: mr.targetProjectId,
      pullRequestNumber: mr.number,
      eventType,
      organization: repo.organization,
      repository: repo.path,
      url: repo.url,
      headUrl: repo.url,
      sender: "developer",
      baseBranch: mr.targetBranch ?? "main",
      headBranch: mr.sourceBranch ?? "feature/login",
      shaTitle: "a change",
    };
    // One provider per event (Run): the pipeline id it finds is shared by the event's pipelines.
    const provider = await this.provider({ namespace: mr.namespace, name: mr.repository });
    const templates = pipelines.map((p) => (typeof p === "string" ? resolvedTemplate(p) : p));
    return runEvent(
      {
        kubeConfig: this.options.kubeConfig,
        repo: { namespace: mr.namespace, name: mr.repository, concurrencyLimit: repo.concurrencyLimit },
        console: this.console,
        provider,
        version: this.version,
        behaviour: behaviourOf(this.version),
        answerLost: options.answerLost,
      },
      event,
      templates,
    );
  }

  /** The Repository's token (SecretFromRepository), in a provider of its own (Provider.SetClient). */
  private async provider(repo: { namespace: string; name: string }): Promise<GitLabProvider> {
    const repository = await this.repository(repo.namespace, repo.name);
    const secret = await this.options.kubeConfig
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret({ namespace: repo.namespace, name: repository.secret.name });
    const token = Buffer.from(secret.data?.[repository.secret.key] ?? "", "base64").toString("utf8");
    return new GitLabProvider({
      kubeConfig: this.options.kubeConfig,
      gitlabUrl: this.options.gitlabUrl,
      token,
      applicationName: this.applicationName,
      repo,
      calls: this.statuses,
      behaviour: behaviourOf(this.version),
    });
  }

  /** The Repository, its concurrency limit merged with the global Repository's (RepositorySpec.Merge). */
  private async repository(namespace: string, name: string) {
    const read = (ns: string, n: string) =>
      this.options.kubeConfig.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
        ...repositoryResource,
        namespace: ns,
        name: n,
      }) as Promise<{
        metadata: { uid?: string };
        spec?: {
          url?: string;
          concurrency_limit?: number;
          git_provider?: { secret?: { name?: string; key?: string } };
        };
      }>;
    const repository = await read(namespace, name);
    const globalRepository = await read(
      this.options.pacNamespace ?? "pipelines-as-code",
      "pipelines-as-code",
    ).catch(() => undefined);
    const url = repository.spec?.url ?? "";
    const path = new URL(url).pathname.replace(/^\/+/, "");
    const slash = path.lastIndexOf("/");
    return {
      url,
      organization: path.slice(0, slash),
      path: path.slice(slash + 1),
      concurrencyLimit: repository.spec?.concurrency_limit ?? globalRepository?.spec?.concurrency_limit,
      secret: {
        name: repository.spec?.git_provider?.secret?.name ?? "",
        key: repository.spec?.git_provider?.secret?.key ?? "provider.token",
      },
    };
  }
}

/** The runs an event created. */
export function createdRuns(results: readonly StartResult[]): PipelineRun[] {
  return results.flatMap((r) => ("created" in r ? [r.created] : []));
}
