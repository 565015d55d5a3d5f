import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeConfig, VersionApi } from "@kubernetes/client-node";
import type { TestProject } from "vitest/node";
import { obtainBinaries } from "./controlplane/binaries.ts";
import { type ControlPlaneState, startControlPlane, stopControlPlane } from "./controlplane/control-plane.ts";
import { installCrds, sharedCrdFiles, testCrdFiles } from "./controlplane/install.ts";
import {
  applyManifests,
  renderOverlay,
  withoutWebhookConfigurations,
  writeServiceAccountKubeconfig,
} from "./controlplane/release.ts";
import type { E2eContext } from "./support/context.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const log = (line: string) => process.stderr.write(`[e2e] ${line}\n`);

/**
 * Builds dist/, makes test certificates, and either starts a local control plane or, when
 * E2E_KUBECONFIG names a cluster (make e2e KUBECONFIG=...), uses that cluster. Webhook processes
 * started by tests are registered by URL at E2E_WEBHOOK_HOST (default 127.0.0.1; on kind, the host's
 * address on the kind network).
 */
export default async function setup(project: TestProject) {
  execFileSync(
    process.execPath,
    [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
  const work = mkdtempSync(join(tmpdir(), "tekton-lineage-e2e-"));
  const certDir = join(work, "certs");
  const logDir = process.env.E2E_LOG_DIR ?? join(work, "logs");
  mkdirSync(logDir, { recursive: true });
  const webhookHost = process.env.E2E_WEBHOOK_HOST ?? "127.0.0.1";
  execFileSync("bash", [join(root, "certs/make-certs.sh"), certDir, webhookHost], { stdio: "ignore" });

  const { kubectl } = await obtainBinaries({ kubectl: true });
  if (!kubectl) throw new Error("binaries.sh built no kubectl");
  let controlPlane: ControlPlaneState | undefined;
  let context: Omit<E2eContext, "lineageKubeconfig">;
  if (process.env.E2E_KUBECONFIG) {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(process.env.E2E_KUBECONFIG);
    const version = await kubeConfig.makeApiClient(VersionApi).getCode();
    log(`using the cluster of ${process.env.E2E_KUBECONFIG} (${version.gitVersion})`);
    context = {
      kubeconfig: process.env.E2E_KUBECONFIG,
      certDir,
      webhookHost,
      local: false,
      serverVersion: version.gitVersion,
      logDir,
      kubectl,
    };
  } else {
    controlPlane = await startControlPlane({ log });
    context = {
      kubeconfig: controlPlane.kubeconfig,
      developerKubeconfig: controlPlane.developerKubeconfig,
      certDir,
      webhookHost,
      local: true,
      serverVersion: controlPlane.version,
      logDir,
      kubectl,
      webhookClientCa: controlPlane.webhookClientCa,
    };
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(context.kubeconfig);
  await installCrds(kubeConfig, [...sharedCrdFiles, ...testCrdFiles]);
  // tekton-lineage's namespace, ServiceAccount, RBAC and ConfigMap, as released; each test registers its
  // own webhook configurations, scoped to its namespaces.
  applyManifests(kubectl, context.kubeconfig, withoutWebhookConfigurations(renderOverlay(kubectl, "local")));
  const lineageKubeconfig = await writeServiceAccountKubeconfig(
    kubeConfig,
    join(work, "tekton-lineage.kubeconfig"),
  );
  log(`kube-apiserver ${context.serverVersion}; tests on Node ${process.version}; process logs in ${logDir}`);
  project.provide("e2e", { ...context, lineageKubeconfig });

  return async () => {
    if (controlPlane) await stopControlPlane(controlPlane, { keep: process.env.E2E_KEEP === "1" });
    if (process.env.E2E_KEEP !== "1") rmSync(work, { recursive: true, force: true });
  };
}
