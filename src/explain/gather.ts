import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import type { Config } from "../config/settings.ts";
import { type Repository, repositoryResource, trimRepository } from "../core/repository.ts";
import { type PipelineRun, pipelineRunResource, trimPipelineRun } from "../core/tekton.ts";
import { labelKeys, leaseLabels, pac } from "../core/vocabulary.ts";
import { GitLabClients } from "../gitlab/client/gitlab-clients.ts";
import { TokenSource } from "../gitlab/client/token-source.ts";
import { FailingTasks, taskRunsOver } from "../gitlab/status/failing-tasks.ts";
import { latestToReport } from "../gitlab/status/latest.ts";
import { LineageViews } from "../gitlab/status/lineage-view.ts";
import { runLinks } from "../gitlab/status/links.ts";
import { apiFailure } from "../kube/api-errors.ts";
import type { CachedEvent } from "../kube/event-source.ts";
import { KubeHttp } from "../kube/kube-http.ts";
import { HttpLeaseStore } from "../kube/lease-http.ts";
import type { CachedLease } from "../kube/leases.ts";
import { MemoryCache } from "../kube/memory-cache.ts";
import { type KeyEntry, keysOf } from "../kube/signing-keys.ts";
import { attemptLeaseKind, readRecord } from "../lineage/attempts.ts";
import { isGenuine, lineageIndexValue } from "../lineage/genuine-runs.ts";
import { readPacConfig } from "../pac/config.ts";
import { CreationFailures, pacFailureReason, trimEvent } from "../pac/creation-failures.ts";
import type { ExplainQuery } from "./args.ts";
import { compareWithGitLab } from "./gitlab-side.ts";
import { type Explanation, explainLineage } from "./timeline.ts";

export interface ExplainContext {
  kubeConfig: KubeConfig;
  /** tekton-lineage's namespace (its attempt counters). */
  namespace: string;
  config: Config;
}

/**
 * Reads the cluster once — the runs of the lineage(s), their attempt counters, the Events of their runs
 * and PaC's creation failures, the Repository — and GitLab's status for the lineage's name, and explains
 * each lineage with the same views the reporter uses (LineageViews, latestToReport, the desired status).
 */
export async function explain(context: ExplainContext, query: ExplainQuery): Promise<Explanation[]> {
  const { kubeConfig, namespace, config } = context;
  const objects = kubeConfig.makeApiClient(CustomObjectsApi);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  // One HTTP/2 connection for the Leases and the failed tasks' TaskRuns (unref'd while idle: a CLI run
  // ends without closing it).
  const http = new KubeHttp(kubeConfig);
  const leases = new HttpLeaseStore(http, namespace);

  const listRuns = async (labelSelector: string, inNamespace?: string) => {
    const list = (await (inNamespace
      ? objects.listNamespacedCustomObject({ ...pipelineRunResource, namespace: inNamespace, labelSelector })
      : objects.listClusterCustomObject({ ...pipelineRunResource, labelSelector }))) as { items: unknown[] };
    return list.items.map(trimPipelineRun);
  };

  let runs: PipelineRun[];
  if ("run" in query) {
    const run = trimPipelineRun(
      await objects.getNamespacedCustomObject({ ...pipelineRunResource, ...query.run }).catch((error) => {
        throw apiFailure(error).code === 404
          ? new Error(`PipelineRun ${query.run.namespace}/${query.run.name} not found`)
          : error;
      }),
    );
    const id = run.metadata.labels?.[labelKeys.lineageId];
    if (!id)
      throw new Error(
        `${query.run.namespace}/${query.run.name} has no tekton-lineage lineage: it was admitted without tekton-lineage (opted out, or the webhook was not reached)`,
      );
    runs = await listRuns(`${labelKeys.lineageId}=${id}`, query.run.namespace);
  } else if ("lineage" in query) {
    runs = await listRuns(`${labelKeys.lineageId}=${query.lineage}`, query.namespace);
  } else {
    runs = (await listRuns(`${pac.sha}=${query.commit}`, query.namespace)).filter(
      (r) => r.metadata.labels?.[labelKeys.lineageId],
    );
  }

  // Attempt counters: those of the runs' lineages, and (for a lineage or a commit) counters whose runs
  // never came to be, found by what they were admitted as.
  const counted = (await leases.list(`${leaseLabels.kind}=${attemptLeaseKind}`)) as CachedLease[];
  const wanted = new Set(runs.map((r) => r.metadata.labels?.[labelKeys.lineageId]));
  const scope = "run" in query ? query.run.namespace : query.namespace;
  const counters = counted.filter((lease) => {
    const id = lease.metadata.labels?.[leaseLabels.lineageId];
    if (scope && lease.metadata.labels?.[leaseLabels.runNamespace] !== scope) return false;
    if (wanted.has(id)) return true;

    if ("lineage" in query) return id === query.lineage;
    if ("commit" in query) return readRecord(lease).lastSubject?.annotations[pac.sha] === query.commit;
    return false;
  });

  const namespaces = new Set([
    ...runs.map((r) => r.metadata.namespace ?? ""),
    ...counters.map((l) => l.metadata.labels?.[leaseLabels.runNamespace] ?? ""),
  ]);
  namespaces.delete("");
  const events: CachedEvent[] = [];
  for (const ns of namespaces) {
    const failures = await core.listNamespacedEvent({
      namespace: ns,
      fieldSelector: `reason=${pacFailureReason}`,
    });
    events.push(...failures.items.map(trimEvent));
  }
  const runEvents: CachedEvent[] = [];
  for (const run of runs) {
    const list = await core.listNamespacedEvent({
      namespace: run.metadata.namespace ?? "",
      fieldSelector: `involvedObject.name=${run.metadata.name}`,
    });
    runEvents.push(...list.items.map((e) => e as CachedEvent));
  }

  // As the reconciler does, only runs whose claims tekton-lineage signed count; the others are named.
  const keys = await readSigningKeys(core, namespace, config.signingSecret);
  const unverified =
    keys === undefined
      ? [`claims not verified: the Secret ${namespace}/${config.signingSecret} could not be read`]
      : [];
  const ignored = keys
    ? runs.filter((run) => !isGenuine(run, { current: () => keys[0] as KeyEntry, all: () => keys }))
    : [];
  if ("run" in query && ignored.some((r) => r.metadata.name === query.run.name))
    throw new Error(
      `${query.run.namespace}/${query.run.name} carries tekton-lineage claims that do not verify (not signed by tekton-lineage for this name): tekton-lineage ignores it`,
    );
  runs = runs.filter((run) => !ignored.includes(run));

  const views = new LineageViews({
    runs: new MemoryCache(runs),
    counters: new MemoryCache(counters),
    countersNamespace: namespace,
    failures: new CreationFailures(new MemoryCache(events)),
  });
  const lineageKeys = new Set(views.keys());
  for (const lease of counters) {
    const key = views.keyOfCounter(lease);
    if (key) lineageKeys.add(key);
  }
  const pacConfig = readPacConfig(await readConfigMap(core, config.pacNamespace, config.pacConfigMap));
  const links = runLinks(
    { console: config.consoleUrl || undefined, error: config.errorUrl || undefined },
    () => pacConfig,
  );
  const clients = new GitLabClients({
    tokens: new TokenSource(kubeConfig, 0),
    timeoutMs: config.gitlabTimeout,
    observe: () => undefined,
  });
  const failingTasks = new FailingTasks(taskRunsOver(http));
  const reportSettings = {
    gitlabUrl: config.gitlabUrl,
    allowedHosts: config.gitlabHosts,
    tokenSecret: config.gitlabTokenSecret,
    tokenNamespaces: config.gitlabTokenNamespaces,
    contextTemplate: config.gitlabContext,
  };

  const explanations: Explanation[] = [];
  for (const key of [...lineageKeys].sort()) {
    const view = views.read(key);
    const counter = counters.find((l) => views.keyOfCounter(l) === key);
    const record = counter ? readRecord(counter) : undefined;
    // Seen from outside, a newer attempt has waited since its admission.
    const admitted = Date.parse(record?.lastSubject?.admittedAt ?? "");
    const waited = Number.isFinite(admitted) ? Date.now() - admitted : Number.POSITIVE_INFINITY;
    const { latest } = latestToReport(view.attempts, waited, config.creationGrace);
    const gitlab = latest
      ? await compareWithGitLab(view, latest, {
          repository: (name) => readRepository(objects, view.namespace, name),
          settings: { ...reportSettings, application: config.gitlabApplication || pacConfig.applicationName },
          links,
          clients,
          failingTasks,
        })
      : { notReported: "no attempt to report yet" };
    const notes = [
      ...unverified,
      ...ignored
        .filter((run) => lineageIndexValue(run) === key)
        .map(
          (run) =>
            `${run.metadata.name} is ignored: its claims do not verify (not signed by tekton-lineage for this name)`,
        ),
    ];
    explanations.push({
      ...explainLineage({ view, record, events: runEvents, latestAttempt: latest?.attempt, gitlab }),
      ...(notes.length > 0 ? { notes } : {}),
    });
  }
  return explanations;
}

/** The signing keys, or undefined when the Secret cannot be read (explain run without that right). */
async function readSigningKeys(
  core: CoreV1Api,
  namespace: string,
  name: string,
): Promise<KeyEntry[] | undefined> {
  try {
    const keys = keysOf(await core.readNamespacedSecret({ namespace, name }));
    return keys.length > 0 ? keys : undefined;
  } catch {
    return undefined;
  }
}

async function readConfigMap(core: CoreV1Api, namespace: string, name: string) {
  if (!namespace || !name) return undefined;
  try {
    return (await core.readNamespacedConfigMap({ namespace, name })).data;
  } catch {
    return undefined; // absent or not readable: PaC's defaults, as the reconciler does
  }
}

async function readRepository(
  objects: CustomObjectsApi,
  namespace: string,
  name: string,
): Promise<Repository | undefined> {
  if (!name) return undefined;
  try {
    return trimRepository(
      await objects.getNamespacedCustomObject({ ...repositoryResource, namespace, name }),
    );
  } catch (error) {
    if (apiFailure(error).code === 404) return undefined;
    throw error;
  }
}
