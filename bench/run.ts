/**
 * make bench: runs the benchmarks on a fresh local control plane and prints their figures.
 *   node bench/run.ts            all benchmarks
 *   node bench/run.ts mutate     only the named ones
 *   node bench/run.ts scale      the scale bench (make bench-scale), only when named
 */

import { benchGitLab } from "./gitlab.bench.ts";
import { benchLeaseClient } from "./lease-client.bench.ts";
import { benchEnvironment } from "./lib/environment.ts";
import { benchMutate } from "./mutate.bench.ts";
import { benchQueue } from "./queue.bench.ts";
import { benchScale } from "./scale.bench.ts";

const benches: Record<string, typeof benchMutate> = {
  mutate: benchMutate,
  queue: benchQueue,
  gitlab: benchGitLab,
  "lease-client": benchLeaseClient,
  scale: benchScale,
};
/** Run only when named (make bench-scale): it takes a quarter of an hour and most of the machine. */
const onRequest = new Set(["scale"]);

async function main(selected: string[]) {
  const names = selected.length > 0 ? selected : Object.keys(benches).filter((n) => !onRequest.has(n));
  const unknown = names.filter((n) => !benches[n]);
  if (unknown.length > 0)
    throw new Error(`unknown benchmark ${unknown.join(", ")}; known: ${Object.keys(benches).join(", ")}`);
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  const env = await benchEnvironment(log);
  const print = (line: string) => process.stdout.write(`${line}\n`);
  print(
    `tekton-lineage benchmarks: kube-apiserver ${env.serverVersion}, Node ${process.version}, ${new Date().toISOString()}`,
  );
  try {
    for (const name of names) {
      print(`\n== ${name}`);
      await benches[name]?.(env, print);
    }
  } finally {
    await env.stop();
  }
}

main(process.argv.slice(2)).then(
  () => {
    // The control plane is gone: anything still holding the event loop is a leak of a bench, named here
    // (the scale bench once sat idle after its last figure), not a reason to hang.
    const left = process.getActiveResourcesInfo().filter((r) => r !== "TTYWrap" && r !== "PipeWrap");
    if (left.length > 0)
      process.stderr.write(`[bench] done; still active, left behind: ${left.join(", ")}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
