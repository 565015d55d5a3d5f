import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { FakeGitLab } from "../../fakes/gitlab/server.ts";
import { GitLabWebhooks } from "../../fakes/gitlab/webhooks.ts";
import { obtainBinaries } from "../controlplane/binaries.ts";
import {
  type ControlPlaneState,
  startControlPlane,
  stopControlPlane,
} from "../controlplane/control-plane.ts";
import { ensureNamespace } from "../controlplane/install.ts";
import { registerWebhooksByUrl } from "../controlplane/register-webhooks.ts";
import {
  applyManifests,
  renderOverlay,
  withoutWebhookConfigurations,
  writeServiceAccountKubeconfig,
} from "../controlplane/release.ts";
import { waitUntilServing } from "../support/admission.ts";
import { e2eContext } from "../support/context.ts";
import { type LineageProcess, startLineageProcess } from "../support/lineage-process.ts";
import { eventually } from "../support/poll.ts";
import { createRepository } from "../support/repositories.ts";
import { grantRepositoryTokens } from "../support/repository-tokens.ts";
import { ApiProxy } from "./api-proxy.ts";
import { obtainBedBinaries } from "./binaries.ts";
import { type BedCluster, startBedCluster } from "./cluster.ts";
import { pacNamespace, type RealPac, startRealPac } from "./pac.ts";

export const bedProject = { id: 1001, path: "demo/demo-repo" };
export const bedToken = "glpat-testbed-0123456789";
export const bedUser = "repository-bot";
export const developer = "developer";
export const webhookSecret = "testbed-webhook-secret";
export const application = "Pipelines as Code CI";
export const consoleRoot = "https://console.example";

export interface TestBed {
  pacVersion: string;
  kubeConfig: KubeConfig;
  namespace: string;
  gitlab: FakeGitLab;
  hooks: GitLabWebhooks;
  lineage: LineageProcess;
  pac: RealPac;
  /** PaC reaches the API server through it (to lose the answer to one of its creates). */
  proxy: ApiProxy;
  /** Another GitLab project and its Repository in the bed's namespace. */
  addRepository(name: string, extra?: RepositoryExtras): Promise<{ projectId: number }>;
  /** Lets a held run's pods end (they were labelled tl-testbed/hold through the run's template). */
  release(runName: string): Promise<void>;
  stop(): Promise<void>;
}

export interface RepositoryExtras {
  annotations?: Record<string, string>;
  concurrencyLimit?: number;
}

/**
 * A cluster where PipelineRuns really run, with the real Pipelines-as-Code of `pacVersion` in front of it:
 * its own etcd and kube-apiserver (the shared control plane stays free of a cluster-wide Tekton and PaC),
 * kube-controller-manager, kube-scheduler, kwok, Tekton's controller, tekton-lineage (webhooks registered
 * by URL, the reconciler as its ServiceAccount) and a fake GitLab that PaC talks to and that sends PaC
 * GitLab's webhooks. One Repository, `demo-repo`, in one namespace, with the token and webhook secret.
 */
export async function startTestBed(options: {
  pacVersion: string;
  log: (line: string) => void;
  repository?: RepositoryExtras;
  lineageArgs?: string[];
}): Promise<TestBed> {
  const context = e2eContext();
  const logDir = join(context.logDir, `testbed-${options.pacVersion}-${process.pid}`);
  mkdirSync(logDir, { recursive: true });
  const [bed, { kubectl }] = await Promise.all([obtainBedBinaries(), obtainBinaries({ kubectl: true })]);
  const pacBinaries = bed.pac[options.pacVersion];
  if (!pacBinaries || !kubectl) throw new Error(`no PaC ${options.pacVersion} in the test bed's binaries`);
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const controlPlane: ControlPlaneState = await startControlPlane({ log: options.log });
    stops.push(() => stopControlPlane(controlPlane, { keep: process.env.E2E_KEEP === "1" }));
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(controlPlane.kubeconfig);
    const cluster: BedCluster = await startBedCluster({
      binaries: bed,
      kubeConfig,
      kubeconfigPath: controlPlane.kubeconfig,
      logDir,
      log: options.log,
    });
    stops.push(cluster.stop);

    const gitlab = await new FakeGitLab().start();
    stops.push(() => gitlab.stop());
    gitlab.repositories.userId(developer);

    const namespace = "team-a";
    await ensureNamespace(kubeConfig, namespace, { "tekton-lineage.io/e2e-suite": "testbed" });
    const core = kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: "gitlab" },
        stringData: { token: bedToken, "webhook.secret": webhookSecret },
      },
    });
    const pacSettings = {
      "application-name": application,
      "custom-console-url": consoleRoot,
      "custom-console-url-pr-details": `${consoleRoot}/ns/{{ namespace }}/pipelinerun/{{ pr }}`,
      "custom-console-url-pr-tasklog": `${consoleRoot}/ns/{{ namespace }}/pipelinerun/{{ pr }}/{{ task }}`,
    };
    const proxy = await new ApiProxy({ kubeConfig, certDir: context.certDir }).start();
    stops.push(() => proxy.stop());
    const pac = await startRealPac({
      version: options.pacVersion,
      binDir: pacBinaries.bin,
      source: pacBinaries.source,
      kubeConfig,
      kubeconfigPath: proxy.writeKubeconfig(kubeConfig, join(logDir, "pac.kubeconfig")),
      logDir,
      settings: pacSettings,
    });
    stops.push(pac.stop);
    const projects: number[] = [];
    const addRepository = async (name: string, extra: RepositoryExtras = {}) => {
      const projectId = bedProject.id + projects.length;
      projects.push(projectId);
      gitlab.model.addProject(projectId, `demo/${name}`);
      // The Repository's token may write to every project of the bed (one bot, as an install has).
      gitlab.model.addToken(bedToken, bedUser, projects);
      await createBedRepository(kubeConfig, namespace, gitlab, name, extra);
      return { projectId };
    };
    await addRepository("demo-repo", options.repository);

    // tekton-lineage as released (namespace, ServiceAccount, RBAC, ConfigMap), its reconciler as that account.
    applyManifests(
      kubectl,
      controlPlane.kubeconfig,
      withoutWebhookConfigurations(renderOverlay(kubectl, "local")),
    );
    await grantRepositoryTokens(kubeConfig, namespace);
    const lineageKubeconfig = await writeServiceAccountKubeconfig(
      kubeConfig,
      join(logDir, "tekton-lineage.kubeconfig"),
    );
    const lineage = await startLineageProcess(
      { certDir: context.certDir, kubeconfig: lineageKubeconfig, logDir, webhookHost: "127.0.0.1" },
      {
        role: "all",
        args: [
          `--watch-namespaces=${namespace}`,
          `--pac-namespace=${pacNamespace}`,
          `--gitlab-hosts=${new URL(gitlab.url).host}`,
          "--creation-grace=3s",
          ...(options.lineageArgs ?? []),
        ],
      },
    );
    stops.push(() => lineage.stop());
    const remove = await registerWebhooksByUrl(kubeConfig, {
      name: "tekton-lineage-testbed",
      baseUrl: `https://127.0.0.1:${lineage.port}`,
      caPem: readFileSync(join(context.certDir, "ca.crt"), "utf8"),
      namespaceLabels: { "tekton-lineage.io/e2e-suite": "testbed" },
      mutatingFailurePolicy: "Fail",
    });
    stops.push(remove);
    await waitUntilServing(kubeConfig, namespace, lineage);
    const hooks = new GitLabWebhooks(gitlab, { url: pac.webhookUrl, secret: webhookSecret });
    options.log(`test bed ready: PaC ${options.pacVersion}, logs in ${logDir}`);
    const release = (runName: string) => releaseRun(kubeConfig, namespace, runName);
    return {
      pacVersion: options.pacVersion,
      kubeConfig,
      namespace,
      gitlab,
      hooks,
      lineage,
      pac,
      proxy,
      addRepository,
      release,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The Repository PaC matches the project's events to: its URL, GitLab's API, token and webhook secret. */
async function createBedRepository(
  kubeConfig: KubeConfig,
  namespace: string,
  gitlab: FakeGitLab,
  name: string,
  extra: RepositoryExtras,
): Promise<void> {
  await createRepository(kubeConfig, {
    namespace,
    name,
    url: `${gitlab.url}/demo/${name}`,
    annotations: extra.annotations,
    concurrencyLimit: extra.concurrencyLimit,
    gitProvider: {
      url: gitlab.url,
      type: "gitlab",
      secret: { name: "gitlab", key: "token" },
      webhook_secret: { name: "gitlab", key: "webhook.secret" },
    },
  });
}

/** Takes the hold label off the pods of a run's TaskRuns, so kwok ends them (kwok-stages.yaml). */
async function releaseRun(kubeConfig: KubeConfig, namespace: string, runName: string): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const pods = await eventually(`the pods of ${runName}`, async () => {
    const list = await core.listNamespacedPod({
      namespace,
      labelSelector: `tekton.dev/pipelineRun=${runName}`,
    });
    return list.items.length > 0 ? list.items : undefined;
  });
  for (const pod of pods)
    await core.patchNamespacedPod(
      {
        namespace,
        name: pod.metadata?.name ?? "",
        body: [{ op: "remove", path: "/metadata/labels/tl-testbed~1hold" }],
      },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
}
