import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api, type KubeConfig, loadAllYaml } from "@kubernetes/client-node";
import { apiFailure } from "../../../src/kube/api-errors.ts";
import { ensureNamespace, installCrds } from "../controlplane/install.ts";
import { eventually } from "../support/poll.ts";
import { freePort } from "../support/ports.ts";
import { isAlive, type StartedProcess, startProcess, stopPid } from "../support/processes.ts";

export const pacNamespace = "pipelines-as-code";

export interface RealPac {
  version: string;
  /** Where PaC's controller takes webhooks (GitLab's "URL" of the project hook). */
  webhookUrl: string;
  processes: StartedProcess[];
  stop(): Promise<void>;
}

interface Container {
  env?: { name: string; value?: string; valueFrom?: unknown }[];
}

/** The env of the first container of a Deployment in PaC's config/ folder, as the release sets it. */
function deploymentEnv(file: string): Record<string, string> {
  const docs = loadAllYaml(readFileSync(file, "utf8")) as {
    kind?: string;
    spec?: { template?: { spec?: { containers?: Container[] } } };
  }[];
  const container = docs.find((d) => d?.kind === "Deployment")?.spec?.template?.spec?.containers?.[0];
  const env: Record<string, string> = {};
  for (const entry of container?.env ?? []) if (entry.value !== undefined) env[entry.name] = entry.value;
  return env;
}

/**
 * Pipelines-as-Code's own controller and watcher, built from its module (testbed/binaries.sh), installed
 * as its release installs them — its Repository CRD and ConfigMaps from its config/ folder, the env of its
 * Deployments — and run as processes with the admin's kubeconfig. `settings` go into PaC's ConfigMap.
 * Nothing is exported and nothing reaches beyond this machine: metrics, tracing and the reading of
 * container logs are off, and the templates name no remote task.
 */
export async function startRealPac(options: {
  version: string;
  binDir: string;
  source: string;
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  logDir: string;
  settings: Record<string, string>;
}): Promise<RealPac> {
  const { source, kubeConfig } = options;
  await installCrds(kubeConfig, [join(source, "config/300-repositories.yaml")]);
  await ensureNamespace(kubeConfig, pacNamespace);
  const overrides: Record<string, Record<string, string | null>> = {
    // remote-tasks stays on (PaC's default): only its resolve turns `name` into generateName; with no
    // task annotation on the templates it fetches nothing.
    "pipelines-as-code": {
      "error-detection-from-container-logs": "false",
      "error-log-snippet": "false",
      "secret-auto-create": "true",
      ...options.settings,
    },
    "pipelines-as-code-config-observability": {
      "metrics-protocol": "none",
      "metrics-endpoint": null,
      "metrics.backend-destination": "none",
      "tracing-protocol": "none",
    },
  };
  for (const file of [
    "301-config-logging.yaml",
    "302-pac-configmap.yaml",
    "303-pac-info-configmap.yaml",
    "305-config-observability.yaml",
    "306-pac-watcher-config-leader-election.yaml",
  ])
    await createConfigMaps(kubeConfig, join(source, "config", file), overrides);

  const processes: StartedProcess[] = [];
  const stop = async () => {
    for (const p of [...processes].reverse()) await stopPid(p.pid, 5_000);
  };
  const controllerPort = await freePort();
  const common = {
    SYSTEM_NAMESPACE: pacNamespace,
    KUBECONFIG: options.kubeconfigPath,
    PAC_DISABLE_HEALTH_PROBE: "true",
    PAC_DISABLE_HA: "true",
    K_METRICS_CONFIG: "",
    K_TRACING_CONFIG: "",
  };
  const start = (name: string, binary: string, args: string[], env: Record<string, string>) => {
    const started = startProcess(join(options.binDir, binary), args, {
      logFile: join(options.logDir, `pac-${options.version}-${name}.log`),
      env: { ...process.env, ...env },
    });
    processes.push(started);
  };
  try {
    start("watcher", "pipelines-as-code-watcher", [`-kubeconfig=${options.kubeconfigPath}`], {
      ...deploymentEnv(join(source, "config/500-watcher.yaml")),
      ...common,
      PAC_WATCHER_PORT: String(await freePort()),
      PROFILING_PORT: String(await freePort()),
    });
    start("controller", "pipelines-as-code-controller", [], {
      ...deploymentEnv(join(source, "config/400-controller.yaml")),
      ...common,
      PAC_CONTROLLER_PORT: String(controllerPort),
      PROFILING_PORT: String(await freePort()),
      TLS_SECRET_NAME: "",
    });
    const webhookUrl = `http://127.0.0.1:${controllerPort}`;
    await eventually(`PaC ${options.version}'s controller to answer`, async () => {
      for (const p of processes) if (!isAlive(p.pid)) throw new Error(`${p.logFile}: PaC ended at start`);
      const response = await fetch(`${webhookUrl}/live`).catch(() => undefined);
      return response?.ok;
    });
    return { version: options.version, webhookUrl, processes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function createConfigMaps(
  kubeConfig: KubeConfig,
  file: string,
  overrides: Record<string, Record<string, string | null>>,
): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  for (const doc of loadAllYaml(readFileSync(file, "utf8")) as {
    kind?: string;
    metadata?: { name?: string; labels?: Record<string, string> };
    data?: Record<string, string>;
  }[]) {
    if (doc?.kind !== "ConfigMap" || !doc.metadata?.name) continue;
    const name = doc.metadata.name;
    // An override of null removes the key.
    const merged = Object.entries({ ...doc.data, ...overrides[name] }).filter(
      (entry): entry is [string, string] => entry[1] !== null,
    );
    const body = {
      metadata: { name, namespace: pacNamespace, labels: doc.metadata.labels },
      data: Object.fromEntries(merged),
    };
    try {
      await core.createNamespacedConfigMap({ namespace: pacNamespace, body });
    } catch (error) {
      if (apiFailure(error).code !== 409) throw error;
      await core.replaceNamespacedConfigMap({ namespace: pacNamespace, name, body });
    }
  }
}
