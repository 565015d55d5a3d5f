import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, type KubeConfig, loadAllYaml } from "@kubernetes/client-node";
import { apiFailure } from "../../../src/kube/api-errors.ts";
import { ensureNamespace, installCrds } from "../controlplane/install.ts";
import { eventually } from "../support/poll.ts";
import { freePort } from "../support/ports.ts";
import { isAlive, type StartedProcess, startProcess, stopPid } from "../support/processes.ts";
import type { BedBinaries } from "./binaries.ts";

/** The namespace Tekton's controller runs for (SYSTEM_NAMESPACE), holding its ConfigMaps. */
export const tektonNamespace = "tekton-pipelines";
const stagesFile = fileURLToPath(new URL("./kwok-stages.yaml", import.meta.url));

export interface BedCluster {
  processes: StartedProcess[];
  stop(): Promise<void>;
}

/**
 * What makes a bare API server a cluster where PipelineRuns really run: kube-controller-manager (default
 * ServiceAccounts, namespace deletion, garbage collection), kube-scheduler, kwok with one fake node and the
 * stages of kwok-stages.yaml, and Tekton's own controller (v1.6.0) with its CRDs and ConfigMaps from its
 * module source. Each a process on this machine, logging to `logDir`.
 */
export async function startBedCluster(options: {
  binaries: BedBinaries;
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  logDir: string;
  log: (line: string) => void;
}): Promise<BedCluster> {
  const { binaries, kubeConfig, kubeconfigPath, logDir } = options;
  const processes: StartedProcess[] = [];
  const start = (name: string, command: string, args: string[], env: Record<string, string> = {}) => {
    const started = startProcess(command, args, {
      logFile: join(logDir, `${name}.log`),
      env: { ...process.env, ...env },
    });
    processes.push(started);
    return started;
  };
  let stopping = false;
  const stop = async () => {
    stopping = true;
    for (const p of [...processes].reverse()) await stopPid(p.pid, 5_000);
  };
  /**
   * kwok v0.7.0 can die the first time it matches a stage: "fatal error: concurrent map writes" in
   * easycel's type registry, which its workers fill at once (seen once in CI, beside a heavy e2e file). It
   * keeps no state — it reconciles from the API server — so it is started again, as its Deployment would.
   */
  const supervised = (name: string, command: string, args: string[], restarts = 5) => {
    const started = start(name, command, args);
    started.child.on("exit", (code, signal) => {
      if (stopping || restarts <= 0) return;
      processes.splice(processes.indexOf(started), 1);
      options.log(`test bed: ${name} exited (${code ?? signal}; see ${name}.log); started again`);
      supervised(name, command, args, restarts - 1);
    });
  };
  try {
    start("kube-controller-manager", binaries.kubeControllerManager, [
      `--kubeconfig=${kubeconfigPath}`,
      "--controllers=serviceaccount,namespace,garbagecollector",
      "--leader-elect=false",
      "--secure-port=0",
      "--use-service-account-credentials=false",
    ]);
    start("kube-scheduler", binaries.kubeScheduler, [
      `--kubeconfig=${kubeconfigPath}`,
      "--leader-elect=false",
      "--secure-port=0",
    ]);
    supervised("kwok", binaries.kwok, [
      `--kubeconfig=${kubeconfigPath}`,
      "--manage-all-nodes=false",
      "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
      `--config=${stagesFile}`,
      "--node-ip=127.0.0.1",
      `--server-address=127.0.0.1:${await freePort()}`,
    ]);
    await createFakeNode(kubeConfig);
    await installTekton(kubeConfig, binaries.tektonSource);
    start(
      "tekton-controller",
      binaries.tektonController,
      [
        `-kubeconfig=${kubeconfigPath}`,
        "-disable-ha",
        // Images are names only: kwok runs no container, and steps give their command (no registry lookup).
        "-entrypoint-image=registry.invalid/tekton/entrypoint",
        "-nop-image=registry.invalid/tekton/nop",
        "-sidecarlogresults-image=registry.invalid/tekton/sidecarlogresults",
        "-workingdirinit-image=registry.invalid/tekton/workingdirinit",
        "-shell-image=registry.invalid/busybox",
        "-shell-image-win=registry.invalid/powershell",
      ],
      {
        SYSTEM_NAMESPACE: tektonNamespace,
        KUBERNETES_MIN_VERSION: "v1.28.0",
        CONFIG_DEFAULTS_NAME: "config-defaults",
        CONFIG_LOGGING_NAME: "config-logging",
        CONFIG_OBSERVABILITY_NAME: "config-observability",
        CONFIG_FEATURE_FLAGS_NAME: "feature-flags",
        CONFIG_LEADERELECTION_NAME: "config-leader-election-controller",
        CONFIG_SPIRE: "config-spire",
        METRICS_DOMAIN: "tekton.dev/pipeline",
        PROFILING_PORT: String(await freePort()),
      },
    );
    for (const p of processes)
      if (!isAlive(p.pid)) throw new Error(`${p.logFile} ended at start; see the log`);
    options.log("test bed: kube-controller-manager, kube-scheduler, kwok and Tekton's controller started");
    return { processes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One Node kwok manages; the not-ready taint the API server puts on a new Node is taken off. */
async function createFakeNode(kubeConfig: KubeConfig): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  try {
    await core.createNode({
      body: {
        metadata: {
          name: "kwok-node-0",
          annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
          labels: { "kubernetes.io/hostname": "kwok-node-0", "kubernetes.io/os": "linux", type: "kwok" },
        },
      },
    });
  } catch (error) {
    if (apiFailure(error).code !== 409) throw error;
  }
  await eventually("the fake node to be Ready", async () => {
    const node = await core.readNode({ name: "kwok-node-0" });
    if (node.spec?.taints?.length) {
      await core.replaceNode({ name: "kwok-node-0", body: { ...node, spec: { ...node.spec, taints: [] } } });
      return false;
    }
    return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
  });
}

/** Tekton's CRDs (config/300-crds) and ConfigMaps (config/config-*.yaml) from its module source. */
async function installTekton(kubeConfig: KubeConfig, source: string): Promise<void> {
  const crdDir = join(source, "config/300-crds");
  await installCrds(
    kubeConfig,
    readdirSync(crdDir).map((f) => join(crdDir, f)),
  );
  await ensureNamespace(kubeConfig, tektonNamespace);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const configDir = join(source, "config");
  for (const file of readdirSync(configDir).filter((f) => /^config-.*\.yaml$/.test(f))) {
    for (const doc of loadAllYaml(readFileSync(join(configDir, file), "utf8")) as {
      kind?: string;
      metadata?: { name?: string; namespace?: string };
      data?: Record<string, string>;
    }[]) {
      if (doc?.kind !== "ConfigMap") continue;
      const data = { ...doc.data };
      // No metrics or tracing exporters: nothing leaves this machine.
      if (doc.metadata?.name === "config-observability") {
        data["metrics.backend-destination"] = "none";
        data["metrics-protocol"] = "none";
      }
      try {
        await core.createNamespacedConfigMap({
          namespace: tektonNamespace,
          body: { metadata: { name: doc.metadata?.name, namespace: tektonNamespace }, data },
        });
      } catch (error) {
        if (apiFailure(error).code !== 409) throw error;
      }
    }
  }
}
