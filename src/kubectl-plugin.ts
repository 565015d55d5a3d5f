/**
 * `kubectl lineage …`: tekton-lineage's operator verbs with kubectl's flags and meanings. `-n` is the
 * namespace of the runs asked about (kubectl's), not tekton-lineage's own, which is
 * `--lineage-namespace` (default tekton-lineage); `-o json|yaml`, `--context` and `--kubeconfig` are
 * kubectl's. `explain` reads the install's own ConfigMap for its settings, so nothing is repeated.
 */
import { parseArgs } from "node:util";
import { CoreV1Api, dumpYaml, type KubeConfig } from "@kubernetes/client-node";
import { ConfigError, loadConfig } from "./config/load.ts";
import type { Config } from "./config/settings.ts";
import { explainQuery } from "./explain/args.ts";
import { explain } from "./explain/gather.ts";
import { renderText } from "./explain/render.ts";
import { apiFailure } from "./kube/api-errors.ts";
import { loadKubeConfig } from "./kube/kubeconfig.ts";
import { buildInfo } from "./observability/build-info.ts";
import { clearQueue, formatQueueReport, readQueues } from "./queue/cli.ts";

export const pluginUsage = `kubectl lineage: tekton-lineage's view of PipelineRuns, for kubectl.

Usage:
  kubectl lineage explain <pipelinerun> [-n <namespace>]   why GitLab shows what it shows for the run's lineage
  kubectl lineage explain --lineage <id> [-n <namespace>]
  kubectl lineage explain --commit <sha> [-n <namespace>]  every lineage of a commit
  kubectl lineage queue list                               every queue: limit, who runs, who waits
  kubectl lineage queue clear <queue key>                  cancel every run waiting in one queue
  kubectl lineage version                                  this plugin's version

Flags:
  -n, --namespace <ns>        the runs' namespace (default: the context's, else "default")
  -o, --output json|yaml      machine-readable output (default: text)
      --context <name>        the kubeconfig context to use
      --kubeconfig <file>     the kubeconfig file to use (default: $KUBECONFIG, ~/.kube/config)
      --lineage-namespace <ns>  where tekton-lineage is installed (default: tekton-lineage)
  -h, --help
`;

/** A usage error: said with the usage, exit code 2 (as kubectl's). */
export class PluginUsageError extends Error {}

interface PluginArgs {
  verb: string[];
  namespace?: string;
  output: "text" | "json" | "yaml";
  context?: string;
  kubeconfig?: string;
  lineageNamespace: string;
  lineage?: string;
  commit?: string;
  help: boolean;
}

/** The plugin's command line, kubectl's way. */
export function parsePluginArgs(argv: readonly string[]): PluginArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        namespace: { type: "string", short: "n" },
        output: { type: "string", short: "o" },
        context: { type: "string" },
        kubeconfig: { type: "string" },
        "lineage-namespace": { type: "string" },
        lineage: { type: "string" },
        commit: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new PluginUsageError((error as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const output = (v.output as string | undefined) ?? "text";
  if (!["text", "json", "yaml"].includes(output))
    throw new PluginUsageError(`--output must be json or yaml, not "${output}"`);
  return {
    verb: parsed.positionals,
    namespace: v.namespace as string | undefined,
    output: output as PluginArgs["output"],
    context: v.context as string | undefined,
    kubeconfig: v.kubeconfig as string | undefined,
    lineageNamespace: (v["lineage-namespace"] as string | undefined) ?? "tekton-lineage",
    lineage: v.lineage as string | undefined,
    commit: v.commit as string | undefined,
    help: v.help === true,
  };
}

/** The caller's kubeconfig, at the asked context; the namespace is the context's unless -n says. */
function kubeContext(args: PluginArgs): { kubeConfig: KubeConfig; namespace: string } {
  const kubeConfig = loadKubeConfig(args.kubeconfig);
  if (args.context) {
    if (!kubeConfig.getContextObject(args.context))
      throw new PluginUsageError(`context "${args.context}" is not in the kubeconfig`);
    kubeConfig.setCurrentContext(args.context);
  }
  const fromContext = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  return { kubeConfig, namespace: args.namespace ?? fromContext ?? "default" };
}

/** The install's settings: its ConfigMap's keys are the settings' environment names. */
async function installConfig(kubeConfig: KubeConfig, namespace: string): Promise<Config> {
  let data: Record<string, string> = {};
  try {
    const map = await kubeConfig
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ name: "tekton-lineage", namespace });
    data = map.data ?? {};
  } catch (error) {
    if (apiFailure(error).code !== 404) throw error;
  }
  try {
    return loadConfig([], data).config;
  } catch (error) {
    if (error instanceof ConfigError)
      throw new Error(`the ConfigMap ${namespace}/tekton-lineage holds a bad setting: ${error.message}`);
    throw error;
  }
}

function render(value: unknown, output: PluginArgs["output"], text: () => string): string {
  if (output === "json") return `${JSON.stringify(value, null, 2)}\n`;
  if (output === "yaml") return dumpYaml(value);
  return text();
}

/** Runs one plugin command; returns what to print. */
export async function runPlugin(argv: readonly string[]): Promise<string> {
  const args = parsePluginArgs(argv);
  const [verb, ...rest] = args.verb;
  if (args.help || verb === undefined) return pluginUsage;
  if (verb === "version") {
    const info = buildInfo();
    return render(
      { clientVersion: info },
      args.output,
      () => `kubectl-lineage ${info.version} (Node ${info.node})\n`,
    );
  }
  if (verb !== "queue" && verb !== "explain")
    throw new PluginUsageError(`unknown command "${verb}": explain, queue or version`);
  const { kubeConfig, namespace } = kubeContext(args);
  if (verb === "queue") {
    const [action, key, ...extra] = rest;
    if (extra.length > 0) throw new PluginUsageError(`unexpected argument "${extra[0]}"`);
    if (action === "list" && key === undefined) {
      const config = await installConfig(kubeConfig, args.lineageNamespace);
      const pac = { namespace: config.pacNamespace, globalRepository: config.pacGlobalRepository };
      const report = await readQueues(kubeConfig, args.lineageNamespace, pac);
      return render(report, args.output, () => formatQueueReport(report));
    }
    if (action === "clear" && key !== undefined) return clearQueue(kubeConfig, args.lineageNamespace, key);
    throw new PluginUsageError("queue needs list, or clear <queue key>");
  }
  if (rest.length > 1) throw new PluginUsageError(`unexpected argument "${rest[1]}"`);
  const inNamespace = (value: string | undefined) =>
    value === undefined || value.includes("/") ? value : `${namespace}/${value}`;
  let query: ReturnType<typeof explainQuery>;
  try {
    query = explainQuery({
      target: inNamespace(rest[0]),
      lineage: inNamespace(args.lineage),
      commit: inNamespace(args.commit),
    });
  } catch (error) {
    throw new PluginUsageError((error as Error).message);
  }
  const config = await installConfig(kubeConfig, args.lineageNamespace);
  const explanations = await explain({ kubeConfig, namespace: args.lineageNamespace, config }, query);
  return render(explanations, args.output, () => renderText(explanations));
}
