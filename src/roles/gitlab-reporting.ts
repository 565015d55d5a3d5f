import type { RunWriter } from "../core/run-actions.ts";
import type { PipelineRun } from "../core/tekton.ts";
import { GitLabClients } from "../gitlab/client/gitlab-clients.ts";
import { TokenSource } from "../gitlab/client/token-source.ts";
import { createGitLabMetrics } from "../gitlab/metrics.ts";
import { PacFailureCorrector } from "../gitlab/pac-failure/pac-failure-corrector.ts";
import { FailingTasks, taskRunsOver } from "../gitlab/status/failing-tasks.ts";
import { LineageReporter } from "../gitlab/status/lineage-reporter.ts";
import { counterQuietMarks } from "../gitlab/status/quiet-marks.ts";
import type { ObjectCache } from "../kube/informer.ts";
import type { CachedLease } from "../kube/leases.ts";
import type { PacConfig } from "../pac/config.ts";
import type { CreationFailures } from "../pac/creation-failures.ts";
import type { ServiceContext } from "./service.ts";

/**
 * The GitLab side of the reconciler: one client pool and its metrics, the lineage reporter and the PaC
 * failure corrector it tells. Live settings are read when they are used (getters, not copies).
 */
export function createGitLabReporting(
  context: ServiceContext,
  deps: {
    runs: ObjectCache<PipelineRun>;
    counters: ObjectCache<CachedLease>;
    creationFailures: CreationFailures;
    writer: RunWriter;
    pacConfig: () => PacConfig;
  },
): { gitlab: LineageReporter; pacFailures: PacFailureCorrector } {
  const { config, kubeConfig, logger, registry, namespace } = context;
  const { events, repositories } = context.shared;
  const live = () => context.settings.current();
  const { runs, counters, creationFailures, writer: actions, pacConfig } = deps;
  const gitlabMetrics = createGitLabMetrics(registry);
  const gitlabClients = new GitLabClients({
    tokens: new TokenSource(kubeConfig, config.gitlabTokenCache),
    timeoutMs: config.gitlabTimeout,
    observe: (method, status) => gitlabMetrics.requests.inc({ method, status: String(status) }),
  });
  // PaC's bare failure status of a commit, corrected from what the lineage reporter tells it.
  const pacFailures = new PacFailureCorrector({
    clients: gitlabClients,
    events,
    metrics: gitlabMetrics,
    logger,
    get resyncMs() {
      return live().gitlabResync;
    },
  });
  const gitlab = new LineageReporter({
    runs,
    counters,
    countersNamespace: namespace,
    creationFailures,
    repositories,
    globalRepository: () =>
      context.shared.pacGlobalRepository?.get(config.pacNamespace, config.pacGlobalRepository),
    clients: gitlabClients,
    bareStatuses: pacFailures,
    failingTasks: new FailingTasks(taskRunsOver(context.shared.kubeHttp)),
    quietMarks: counterQuietMarks(context.shared.leaseStore),
    writer: actions,
    events,
    metrics: gitlabMetrics,
    logger,
    settings: {
      gitlabUrl: config.gitlabUrl,
      allowedHosts: config.gitlabHosts,
      tokenSecret: config.gitlabTokenSecret,
      tokenNamespaces: config.gitlabTokenNamespaces,
      application: config.gitlabApplication || undefined,
      contextTemplate: config.gitlabContext,
    },
    // Live settings (--settings-configmap) are read when they are used: getters, not copies.
    links: {
      get console() {
        return live().consoleUrl || undefined;
      },
      get error() {
        return live().errorUrl || undefined;
      },
    },
    pacConfig,
    get creationGraceMs() {
      return live().creationGrace;
    },
    get resyncMs() {
      return live().gitlabResync;
    },
    get maxRepairs() {
      return live().gitlabMaxRepairs;
    },
    repairWindowMs: 600_000,
  });
  return { gitlab, pacFailures };
}
