import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { e2eContext } from "./context.ts";

const mainJs = fileURLToPath(new URL("../../../dist/main.js", import.meta.url));
const execFileAsync = promisify(execFile);

/**
 * `tekton-lineage <args>` from dist/, as an operator runs it, with the admin's kubeconfig; resolves with
 * what it printed, rejects with its exit `code` and `stderr`. Asynchronous, so servers of this process
 * (the fake GitLab) keep answering it.
 */
export async function tektonLineageCli(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [
    mainJs,
    ...args,
    `--kubeconfig=${e2eContext().kubeconfig}`,
  ]);
  return stdout;
}
