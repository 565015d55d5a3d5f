import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeConfig } from "@kubernetes/client-node";
import { startControlPlane, stopControlPlane } from "../../test/e2e/controlplane/control-plane.ts";
import {
  ensureNamespace,
  installCrds,
  sharedCrdFiles,
  testCrdFiles,
} from "../../test/e2e/controlplane/install.ts";
import type { ProcessEnvironment } from "../../test/e2e/support/lineage-process.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

export interface BenchEnvironment extends ProcessEnvironment {
  kubeConfig: KubeConfig;
  serverVersion: string;
  apiServerPid: number;
  etcdPid: number;
  dir: string;
  stop(): Promise<void>;
}

/** A fresh local control plane with the CRDs, test certificates and a log directory, for one bench run. */
export async function benchEnvironment(log: (line: string) => void): Promise<BenchEnvironment> {
  const dir = mkdtempSync(join(tmpdir(), "tekton-lineage-bench-"));
  const certDir = join(dir, "certs");
  const logDir = join(dir, "logs");
  mkdirSync(logDir, { recursive: true });
  execFileSync("bash", [join(root, "certs/make-certs.sh"), certDir], { stdio: "ignore" });
  const controlPlane = await startControlPlane({ log });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(controlPlane.kubeconfig);
  await installCrds(kubeConfig, [...sharedCrdFiles, ...testCrdFiles]);
  await ensureNamespace(kubeConfig, "tekton-lineage");
  return {
    certDir,
    logDir,
    kubeconfig: controlPlane.kubeconfig,
    webhookHost: "127.0.0.1",
    kubeConfig,
    serverVersion: controlPlane.version,
    apiServerPid: controlPlane.pids.apiserver,
    etcdPid: controlPlane.pids.etcd,
    dir,
    async stop() {
      await stopControlPlane(controlPlane);
      if (process.env.BENCH_KEEP !== "1") rmSync(dir, { recursive: true, force: true });
    },
  };
}
