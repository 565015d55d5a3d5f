#!/usr/bin/env node
// `kubectl lineage`: kubectl finds this executable as kubectl-lineage on the PATH. Like main.ts, it checks
// the Node version before anything else is loaded.
import { nodeTooOld } from "./node-floor.ts";

const tooOld = nodeTooOld(process.versions.node);
if (tooOld !== undefined) {
  process.stderr.write(`${tooOld}\n`);
  process.exit(2);
}
const { PluginUsageError, pluginUsage, runPlugin } = await import("./kubectl-plugin.ts");
const { failureText } = await import("./kube/api-errors.ts");
try {
  process.stdout.write(await runPlugin(process.argv.slice(2)));
} catch (error) {
  if (error instanceof PluginUsageError) {
    process.stderr.write(`error: ${error.message}\n\n${pluginUsage}`);
    process.exit(2);
  }
  // What could not be read is said in one line; the API server's words when it refused.
  process.stderr.write(`error: ${failureText(error)}\n`);
  process.exit(1);
}
