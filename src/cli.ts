/** The command line: roles (webhook, reconciler, all) and the operator verbs (queue, signing-key). */
import { helpText } from "./config/help.ts";
import { ConfigError, loadConfig } from "./config/load.ts";
import { explainQuery, takeExplainFlags } from "./explain/args.ts";
import { explain } from "./explain/gather.ts";
import { renderText } from "./explain/render.ts";
import { failureText } from "./kube/api-errors.ts";
import { loadKubeConfig, ownNamespace } from "./kube/kubeconfig.ts";
import { rotateSigningKey } from "./kube/signing-keys.ts";
import { buildInfo } from "./observability/build-info.ts";

import { clearQueue, listQueues } from "./queue/cli.ts";
import { createReconciler } from "./roles/reconciler.ts";
import { type Role, runService } from "./roles/service.ts";
import { createWebhook } from "./roles/webhook.ts";

const roles: Record<Role, Parameters<typeof runService>[2][Role]> = {
  webhook: [createWebhook],
  reconciler: [createReconciler],
  all: [createWebhook, createReconciler],
};

function fail(message: string, code: number): never {
  process.stderr.write(`tekton-lineage: ${message}\n`);
  process.exit(code);
}

const explainUsage =
  "usage: tekton-lineage explain <namespace>/<pipelinerun> | --lineage [<namespace>/]<id> | --commit [<namespace>/]<sha> [--output json]";

async function main(commandLine: string[]): Promise<void> {
  let parsed: ReturnType<typeof loadConfig>;
  let explainFlags: ReturnType<typeof takeExplainFlags> = { argv: commandLine };
  try {
    explainFlags = takeExplainFlags(commandLine);
  } catch (error) {
    fail(`${(error as Error).message}\n${explainUsage}`, 2);
  }
  const argv = explainFlags.argv;
  try {
    parsed = loadConfig(argv, process.env);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, error.exitCode);
    throw error;
  }
  if (parsed.help) {
    process.stdout.write(helpText());
    return;
  }
  const [command, ...rest] = parsed.command;
  if (command === undefined) fail(`no role given: choose webhook, reconciler or all\n\n${helpText()}`, 2);
  if (command === "webhook" || command === "reconciler" || command === "all") {
    if (rest.length > 0) fail(`unexpected argument "${rest[0]}" after ${command}`, 2);
    await runService(
      command,
      parsed.config,
      { webhook: roles.webhook, reconciler: roles.reconciler, all: roles.all },
      parsed.fromFlags,
    );
    return;
  }
  if (command === "queue") {
    const [verb, key] = rest;
    const kubeConfig = loadKubeConfig(parsed.config.kubeconfig);
    const namespace = ownNamespace(parsed.config.namespace);
    if (verb === "list" && key === undefined) {
      const pac = {
        namespace: parsed.config.pacNamespace,
        globalRepository: parsed.config.pacGlobalRepository,
      };
      process.stdout.write(await listQueues(kubeConfig, namespace, parsed.config.output, pac));
      return;
    }
    if (verb === "clear" && key !== undefined && rest.length === 2) {
      process.stdout.write(await clearQueue(kubeConfig, namespace, key));
      return;
    }
    fail("usage: tekton-lineage queue list [--output json] | tekton-lineage queue clear <queue key>", 2);
  }
  if (command === "explain") {
    if (rest.length > 1) fail(explainUsage, 2);
    let query: ReturnType<typeof explainQuery>;
    try {
      query = explainQuery({ target: rest[0], lineage: explainFlags.lineage, commit: explainFlags.commit });
    } catch (error) {
      fail(`${(error as Error).message}\n${explainUsage}`, 2);
    }
    const kubeConfig = loadKubeConfig(parsed.config.kubeconfig);
    const namespace = ownNamespace(parsed.config.namespace);
    let explanations: Awaited<ReturnType<typeof explain>>;
    try {
      explanations = await explain({ kubeConfig, namespace, config: parsed.config }, query);
    } catch (error) {
      // What could not be read is said in one line; the API server's words when it refused.
      fail(failureText(error), 1);
    }

    process.stdout.write(
      parsed.config.output === "json"
        ? `${JSON.stringify(explanations, null, 2)}\n`
        : renderText(explanations),
    );
    return;
  }
  if (command === "version") {
    const { version, node } = buildInfo();
    process.stdout.write(
      parsed.config.output === "json"
        ? `${JSON.stringify({ version, node }, null, 2)}\n`
        : `tekton-lineage ${version} (Node ${node})\n`,
    );
    return;
  }
  if (command === "signing-key") {
    if (rest.length !== 1 || rest[0] !== "rotate") fail("usage: tekton-lineage signing-key rotate", 2);
    const kubeConfig = loadKubeConfig(parsed.config.kubeconfig);
    const namespace = ownNamespace(parsed.config.namespace);
    const id = await rotateSigningKey(kubeConfig, namespace, parsed.config.signingSecret);
    process.stdout.write(
      `new signing key ${id} in ${namespace}/${parsed.config.signingSecret}; the old one is kept until no run it signed is left\n`,
    );
    return;
  }
  fail(
    `unknown command "${command}": choose webhook, reconciler, all, queue, explain, signing-key or version (see --help)`,
    2,
  );
}

export function runCli(argv: string[]): void {
  main(argv).catch((error: unknown) => {
    process.stderr.write(`tekton-lineage: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
