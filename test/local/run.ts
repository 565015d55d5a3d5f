/**
 * make run: the local embedded default, in the foreground until Ctrl-C. The control plane keeps running
 * afterwards (make cluster-down stops it).
 */
import { join } from "node:path";
import { startLocalStack } from "./stack.ts";

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main() {
  const stack = await startLocalStack({ log: (line) => say(`[run] ${line}`) });
  say("");
  say(`tekton-lineage is running on https://127.0.0.1:8443 against kube-apiserver ${stack.serverVersion},`);
  say(`with a fake GitLab at ${stack.gitlab.url} and a simulated Tekton controller (runs take 8 s).`);
  say("In another terminal:");
  say("");
  say(`  export KUBECONFIG=${stack.kubeconfig}`);
  say(`  export PATH=${join(stack.kubectl, "..")}:$PATH   # kubectl ${stack.serverVersion}`);
  say("  kubectl create -f examples/pipelinerun.yaml       # twice: a retest gets the next attempt");
  say("  kubectl get pipelineruns -n demo -L tekton-lineage.io/attempt,tekton-lineage.io/queue-outcome");
  say(
    `  curl -s ${stack.gitlab.url}/__fake/projects/1001/commits/4d6f1f0c2b1e8a7d9c3b5a4f6e8d7c9b1a2f3e4d/pipelines`,
  );
  say("  make demo                                          # the reported failure, replayed");
  say("");
  say(
    "Ctrl-C stops tekton-lineage (and removes its webhook configurations); make cluster-down stops the cluster.",
  );
  let exiting = false;
  const stop = async () => {
    if (exiting) return;
    exiting = true;
    await stack.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`make run: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
