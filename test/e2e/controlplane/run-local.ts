/**
 * make run: the local embedded default. Starts (or reuses) the local control plane, makes certificates,
 * registers the webhooks by URL, and runs `tekton-lineage all` in the foreground until Ctrl-C. On exit
 * the webhook configurations are removed so the cluster keeps accepting PipelineRuns; the control plane
 * keeps running until `make cluster-down`.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeConfig } from "@kubernetes/client-node";
import { obtainBinaries } from "./binaries.ts";
import { clusterUp } from "./cli.ts";
import { registerWebhooksByUrl } from "./register-webhooks.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const certDir = join(root, "certs/local");
const port = Number(process.env.TL_PORT ?? 8443);
const say = (line: string) => process.stdout.write(`${line}\n`);

async function main() {
  const state = await clusterUp();
  const { kubectl } = await obtainBinaries({ kubectl: true });
  if (!existsSync(join(certDir, "tls.crt")))
    execFileSync("bash", [join(root, "certs/make-certs.sh"), certDir]);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(state.kubeconfig);
  const unregister = await registerWebhooksByUrl(kubeConfig, {
    name: "tekton-lineage",
    baseUrl: `https://127.0.0.1:${port}`,
    caPem: readFileSync(join(certDir, "ca.crt"), "utf8"),
  });

  const child = spawn(
    process.execPath,
    [
      join(root, "dist/main.js"),
      "all",
      `--listen=127.0.0.1:${port}`,
      `--tls-cert=${join(certDir, "tls.crt")}`,
      `--tls-key=${join(certDir, "tls.key")}`,
      `--kubeconfig=${state.kubeconfig}`,
      "--namespace=tekton-lineage",
      "--drain-delay=0s",
      ...process.argv.slice(2),
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );

  say("");
  say(`tekton-lineage is running on https://127.0.0.1:${port} against kube-apiserver ${state.version}.`);
  say("In another terminal:");
  say("");
  say(`  export KUBECONFIG=${state.kubeconfig}`);
  if (kubectl) say(`  export PATH=${join(kubectl, "..")}:$PATH   # kubectl ${state.version}`);
  say("  kubectl create namespace demo");
  say("  kubectl create -f examples/pipelinerun.yaml");
  say("  kubectl get pipelineruns -n demo -L tekton-lineage.io/attempt");
  say("");
  say(
    "Ctrl-C stops tekton-lineage and removes its webhook configurations; make cluster-down stops the cluster.",
  );
  say("");

  let exiting = false;
  const stop = async () => {
    if (exiting) return;
    exiting = true;
    await unregister().catch(() => {});
    child.kill("SIGTERM");
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  child.on("exit", async (code) => {
    await stop();
    process.exit(code ?? 0);
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`make run: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
