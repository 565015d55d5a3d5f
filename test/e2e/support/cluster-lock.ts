import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { e2eContext } from "./context.ts";
import { eventually } from "./poll.ts";

/**
 * A lock shared by the e2e files of one run (a directory beside the suite's certificates), for what is
 * cluster-wide and has one name: the release's webhook configurations "tekton-lineage", which
 * install.e2e registers for its whole run and the kind script's server-side dry run would merge into.
 * Resolves with its release once held.
 */
export async function holdClusterLock(name: string, timeoutMs = 300_000): Promise<() => void> {
  const dir = join(e2eContext().certDir, "..", `lock-${name}`);
  await eventually(
    `the cluster lock ${name}`,
    () => {
      try {
        mkdirSync(dir);
        return true;
      } catch {
        return false;
      }
    },
    { timeoutMs, intervalMs: 200 },
  );
  return () => rmSync(dir, { recursive: true, force: true });
}
