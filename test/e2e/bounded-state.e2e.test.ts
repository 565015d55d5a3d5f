import { randomBytes } from "node:crypto";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminKubeConfig, e2eContext } from "./support/context.ts";
import { pacPipelineRun, pipelineRuns } from "./support/pipelineruns.ts";
import { eventually } from "./support/poll.ts";
import { imageEnvironment, memoryLimitBytes, peakRss } from "./support/process-memory.ts";
import { createSuite } from "./support/suite.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";
import { type RegisteredWebhooks, registerAndServe } from "./support/webhooks.ts";

/**
 * Tenants write what they like into their runs. For a minute (TL_SOAK_SECONDS), runs with distinct
 * lineages, each carrying 200 KiB in a PaC annotation, are created through the API server and deleted
 * at once. tekton-lineage's state must stay bounded: the reconciler under the Deployment's memory limit,
 * every attempt counter small, and the counters of lineages that had a run only for a moment collected
 * within seconds of their grace, so what is left in etcd does not grow with the churn.
 */
const suite = createSuite("bounded");
const admin = adminKubeConfig();
const runs = pipelineRuns(admin);
const soakMs = Number(process.env.TL_SOAK_SECONDS ?? 60) * 1000;
const leases = admin.makeApiClient(CoordinationV1Api);
let namespace: string;
let webhook: LineageProcess;
let reconciler: LineageProcess;
let webhooks: RegisteredWebhooks;

beforeAll(async () => {
  namespace = await suite.namespace("churn");
  const common = [
    `--watch-namespaces=${namespace}`,
    "--counter-gc-interval=2s",
    "--counter-gc-grace-single-attempt=5s",
    "--counter-gc-grace=1m",
  ];
  webhook = await startTektonLineage({ role: "webhook", logLevel: "info", args: common });
  reconciler = await startTektonLineage({
    role: "reconciler",
    logLevel: "info",
    env: imageEnvironment,
    args: common,
  });
  webhooks = await registerAndServe({
    suite: suite.id,
    port: webhook.port,
    namespace,
    processes: webhook,
  });
});

afterAll(async () => {
  await webhooks?.remove();
  await webhook?.stop();
  await reconciler?.stop();
  await suite.cleanup();
});

/** The attempt counters of the namespace now: how many, and their bytes as stored. */
async function counters(): Promise<{ count: number; bytes: number; largest: number }> {
  const list = await leases.listNamespacedLease({
    namespace: "tekton-lineage",
    labelSelector: `tekton-lineage.io/lease-kind=attempts,tekton-lineage.io/run-namespace=${namespace}`,
  });
  const sizes = list.items.map(
    (lease) => JSON.stringify({ ...lease, metadata: { ...lease.metadata, managedFields: undefined } }).length,
  );
  return { count: sizes.length, bytes: sizes.reduce((a, b) => a + b, 0), largest: Math.max(0, ...sizes) };
}

describe("runs that come and go with 200 KiB annotations", () => {
  it("leave tekton-lineage's memory and Leases bounded", async ({ skip }) => {
    if (!e2eContext().local) skip("measures the memory of a process on this machine");
    const filler = `${namespace}/x,`
      .repeat(Math.ceil((200 * 1024) / (namespace.length + 3)))
      .slice(0, 200 * 1024);
    let created = 0;
    let fellBack = 0;
    const until = Date.now() + soakMs;
    const worker = async () => {
      while (Date.now() < until) {
        const run = await runs.create(
          pacPipelineRun({
            namespace,
            sha: randomBytes(20).toString("hex"),
            extraAnnotations: { "pipelinesascode.tekton.dev/execution-order": filler },
          }),
        );
        created += 1;
        if (!run.metadata.labels?.["tekton-lineage.io/lineage-id"]) fellBack += 1;
        await runs.delete(namespace, run.metadata.name ?? "");
      }
    };
    let most = { count: 0, bytes: 0, largest: 0 };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const now = await counters();
        most = {
          count: Math.max(most.count, now.count),
          bytes: Math.max(most.bytes, now.bytes),
          largest: Math.max(most.largest, now.largest),
        };
        await new Promise((resolve) => setTimeout(resolve, 1000)); // a sample a second, for the figures
      }
    })();
    await Promise.all(Array.from({ length: 4 }, worker));
    sampling = false;
    await sampler;
    const peak = peakRss(reconciler.pid);
    // Every counter goes once its grace (5 s) has passed: nothing is left of the churn.
    const drainedAt = Date.now();
    await eventually(
      "the counters of runs that came and went to be collected",
      async () => ((await counters()).count === 0 ? true : undefined),
      { timeoutMs: 60_000 },
    );
    process.stdout.write(
      `[bounded] ${created} runs × 200 KiB in ${soakMs / 1000} s (${fellBack} over the new-lineage budget); reconciler peak RSS ${Math.round(peak / 1048576)} MiB; at most ${most.count} counters alive, ${Math.round(most.bytes / 1024)} KiB together, largest ${most.largest} bytes; all collected ${Math.round((Date.now() - drainedAt) / 1000)} s after the last run\n`,
    );
    expect(created).toBeGreaterThan(0);
    expect(peak).toBeLessThan(memoryLimitBytes);
    // Each counter is small whatever the run carried (the record is capped at 4 KiB).
    expect(most.largest).toBeLessThan(6 * 1024);
    expect((await reconciler.get("/readyz")).status).toBe(200);
  });
});
