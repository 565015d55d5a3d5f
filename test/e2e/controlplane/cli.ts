/**
 * make cluster-up / cluster-down / cluster-status: a local control plane that outlives the command.
 *
 *   node test/e2e/controlplane/cli.ts up       start (or reuse) and print "export KUBECONFIG=<path>"
 *   node test/e2e/controlplane/cli.ts down     stop it by its pids and remove its directory
 *   node test/e2e/controlplane/cli.ts status   say whether it runs
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { KubeConfig } from "@kubernetes/client-node";
import { isAlive } from "../support/processes.ts";
import { type ControlPlaneState, startControlPlane, stopControlPlane } from "./control-plane.ts";
import { ensureNamespace, installCrds, sharedCrdFiles, testCrdFiles } from "./install.ts";

const stateDir = fileURLToPath(new URL("../../../.cluster/", import.meta.url));
const stateFile = `${stateDir}state.json`;

function readState(): ControlPlaneState | undefined {
  if (!existsSync(stateFile)) return undefined;
  return JSON.parse(readFileSync(stateFile, "utf8")) as ControlPlaneState;
}

const running = (state: ControlPlaneState | undefined): state is ControlPlaneState =>
  state !== undefined && isAlive(state.pids.apiserver) && isAlive(state.pids.etcd);

const log = (line: string) => process.stderr.write(`[cluster] ${line}\n`);

export async function clusterUp(): Promise<ControlPlaneState> {
  const existing = readState();
  if (running(existing)) {
    log(`already running (${existing.version} at ${existing.server})`);
    return existing;
  }
  if (existing) await stopControlPlane(existing);
  const state = await startControlPlane({ detached: true, log });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(state.kubeconfig);
  await installCrds(kubeConfig, [...sharedCrdFiles, ...testCrdFiles]);
  await ensureNamespace(kubeConfig, "tekton-lineage");
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  log(`CRDs installed; logs in ${state.dir}`);
  return state;
}

export async function clusterDown(): Promise<void> {
  const state = readState();
  if (!state) {
    log("no local control plane recorded");
    return;
  }
  await stopControlPlane(state);
  rmSync(stateFile, { force: true });
  log("stopped");
}

async function main(command: string | undefined) {
  if (command === "up") {
    const state = await clusterUp();
    process.stdout.write(`export KUBECONFIG=${state.kubeconfig}\n`);
  } else if (command === "down") {
    await clusterDown();
  } else if (command === "status") {
    const state = readState();
    process.stdout.write(running(state) ? `running: ${state.version} at ${state.server}\n` : "not running\n");
  } else {
    process.stderr.write("usage: cli.ts up|down|status\n");
    process.exit(2);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv[2]).catch((error: unknown) => {
    process.stderr.write(`[cluster] ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
