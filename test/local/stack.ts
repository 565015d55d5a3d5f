/**
 * The embedded default: a local control plane, tekton-lineage installed from the local overlay and
 * running as its own ServiceAccount, a stateful fake GitLab and a simulated Tekton controller. Used by
 * `make run` (in the foreground) and `make demo`.
 */

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AdmissionregistrationV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { apiFailure } from "../../src/kube/api-errors.ts";
import { obtainBinaries } from "../e2e/controlplane/binaries.ts";
import { clusterUp } from "../e2e/controlplane/cli.ts";
import {
  applyManifests,
  configMapSettings,
  renderOverlay,
  writeServiceAccountKubeconfig,
} from "../e2e/controlplane/release.ts";
import { gitProviderOf } from "../e2e/support/gitlab.ts";
import { eventually } from "../e2e/support/poll.ts";
import { isAlive } from "../e2e/support/processes.ts";
import { grantRepositoryTokens } from "../e2e/support/repository-tokens.ts";
import { TektonSimulator } from "../e2e/support/tekton-simulator.ts";
import { FakeGitLab } from "../fakes/gitlab/server.ts";
import { PacEmulator } from "../fakes/pac/emulator.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
export const runStateFile = join(root, ".cluster/run.json");
export const demoNamespace = "demo";
/** The Repository's token: PaC and tekton-lineage both write with it (one GitLab user). */
export const gitlabToken = "glpat-local-demo";
export const projectId = 1001;
/** The commit of examples/pipelinerun.yaml. */
export const exampleSha = "4d6f1f0c2b1e8a7d9c3b5a4f6e8d7c9b1a2f3e4d";
/** PaC's settings, in its ConfigMap where PaC is installed (tekton-lineage reads them there). */
export const pacNamespace = "pipelines-as-code";
export const pacConfig = {
  "application-name": "Pipelines as Code CI",
  "custom-console-url": "https://console.example",
  "custom-console-url-pr-details": "https://console.example/ns/{{ namespace }}/pipelinerun/{{ pr }}",
};

export interface RunState {
  kubeconfig: string;
  gitlabUrl: string;
  pid: number;
  serverVersion: string;
  kubectl: string;
}

export interface LocalStack extends RunState {
  gitlab: FakeGitLab;
  pac: PacEmulator;
  stop(): Promise<void>;
}

const ignoreExists = (error: unknown) => {
  if (apiFailure(error).code !== 409) throw error;
};

/** The running `make run` stack, if one is up. */
export function runningStack(): RunState | undefined {
  if (!existsSync(runStateFile)) return undefined;
  const state = JSON.parse(readFileSync(runStateFile, "utf8")) as RunState;
  return isAlive(state.pid) ? state : undefined;
}

export async function startLocalStack(options: {
  port?: number;
  gitlabPort?: number;
  log: (line: string) => void;
}): Promise<LocalStack> {
  const port = options.port ?? 8443;
  const cluster = await clusterUp();
  const { kubectl } = await obtainBinaries({ kubectl: true });
  if (!kubectl) throw new Error("binaries.sh built no kubectl");
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cluster.kubeconfig);

  // Install as a user would: the local overlay (webhooks by URL), applied server-side.
  const manifests = renderOverlay(kubectl, "local");
  applyManifests(kubectl, cluster.kubeconfig, manifests);
  const settings = configMapSettings(manifests);

  // A GitLab for the demo project, and the repository PaC would know it by.
  const gitlab = await new FakeGitLab({ port: options.gitlabPort ?? 8929 }).start();
  gitlab.model.addProject(projectId, "demo/demo-repo");
  gitlab.model.addToken(gitlabToken, "repository-bot");
  gitlab.model.addCommit(projectId, exampleSha, "feature/login");
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: demoNamespace } } }).catch(ignoreExists);
  await core.createNamespace({ body: { metadata: { name: pacNamespace } } }).catch(ignoreExists);
  await core
    .createNamespacedConfigMap({
      namespace: pacNamespace,
      body: { metadata: { name: "pipelines-as-code" }, data: pacConfig },
    })
    .catch(ignoreExists);
  await core
    .createNamespacedSecret({
      namespace: demoNamespace,
      body: { metadata: { name: gitProviderOf(gitlab).secret.name }, stringData: { token: gitlabToken } },
    })
    .catch(ignoreExists);
  await grantRepositoryTokens(kubeConfig, demoNamespace).catch(ignoreExists);
  const repository = {
    apiVersion: "pipelinesascode.tekton.dev/v1alpha1",
    kind: "Repository",
    metadata: {
      name: "demo-repo",
      namespace: demoNamespace,
      annotations: { "tekton-lineage.io/queue": "enabled", "tekton-lineage.io/concurrency-limit": "2" },
    },
    spec: {
      url: "https://gitlab.example/demo/demo-repo",
      git_provider: gitProviderOf(gitlab),
    },
  };
  applyManifests(kubectl, cluster.kubeconfig, JSON.stringify(repository));

  // tekton-lineage runs as its ServiceAccount, with the ConfigMap's settings, as a pod would.
  const work = join(tmpdir(), "tekton-lineage-run");
  mkdirSync(work, { recursive: true });
  const saKubeconfig = await writeServiceAccountKubeconfig(
    kubeConfig,
    join(work, "tekton-lineage.kubeconfig"),
  );
  const child = spawn(
    process.execPath,
    [
      join(root, "dist/main.js"),
      "all",
      `--listen=127.0.0.1:${port}`,
      `--kubeconfig=${saKubeconfig}`,
      "--namespace=tekton-lineage",
      "--instance-id=local",
      "--drain-delay=0s",
      "--creation-grace=3s",
      "--gitlab-resync=5s",
      `--gitlab-hosts=${new URL(gitlab.url).host}`,
    ],
    {
      // The ConfigMap's settings, as the Deployment loads them; the caller's TEKTON_LINEAGE_* win, as flags would.
      env: { ...settings, ...process.env, TEKTON_LINEAGE_LISTEN: `127.0.0.1:${port}` },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const logFile = join(work, "tekton-lineage.log");
  writeFileSync(logFile, "");
  const append = (chunk: Buffer) => writeFileSync(logFile, chunk, { flag: "a" });
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);

  const tekton = new TektonSimulator(kubeConfig, [], (run) => ({
    durationMs: Number(run.metadata.annotations?.["demo.tekton-lineage.io/duration-ms"] ?? 8000),
    succeeded: run.metadata.annotations?.["demo.tekton-lineage.io/outcome"] !== "fail",
  }));
  await tekton.start();
  // Pipelines-as-Code, emulated from its source (test/fakes/pac): its watcher reports every run it made.
  const pac = await new PacEmulator({
    kubeConfig,
    namespaces: [demoNamespace],
    gitlabUrl: gitlab.url,
    version: "v0.38",
    config: pacConfig,
  }).start();

  // Ready when it serves its own certificate and the API server trusts it (the CA it wrote).
  const admission = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  await eventually(
    "tekton-lineage to be installed and trusted",
    async () => {
      if (child.exitCode !== null) throw new Error(`tekton-lineage exited; see ${logFile}`);
      const configuration = await admission.readMutatingWebhookConfiguration({ name: "tekton-lineage" });
      return Boolean(configuration.webhooks?.[0]?.clientConfig.caBundle);
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  const state: RunState = {
    kubeconfig: cluster.kubeconfig,
    gitlabUrl: gitlab.url,
    pid: process.pid,
    serverVersion: cluster.version,
    kubectl,
  };
  mkdirSync(join(root, ".cluster"), { recursive: true });
  writeFileSync(runStateFile, JSON.stringify(state, null, 2));
  options.log(
    `tekton-lineage running as system:serviceaccount:tekton-lineage:tekton-lineage; log: ${logFile}`,
  );

  let stopped = false;
  return {
    ...state,
    gitlab,
    pac,
    async stop() {
      if (stopped) return;
      stopped = true;
      rmSync(runStateFile, { force: true });
      await pac.stop();
      tekton.stop();
      // Webhook configurations first, so the cluster keeps accepting PipelineRuns without tekton-lineage.
      await admission.deleteMutatingWebhookConfiguration({ name: "tekton-lineage" }).catch(() => {});
      await admission.deleteValidatingWebhookConfiguration({ name: "tekton-lineage" }).catch(() => {});
      child.kill("SIGTERM");
      await new Promise((resolve) =>
        child.exitCode !== null ? resolve(undefined) : child.once("exit", resolve),
      );
      await gitlab.stop();
    },
  };
}
