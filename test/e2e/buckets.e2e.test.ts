import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucketIndexOf, bucketOf } from "../../src/core/buckets.ts";
import { isDone, type PipelineRun, pipelineRunResource } from "../../src/core/tekton.ts";
import { customResourceSource } from "../../src/kube/custom-objects.ts";
import { Informer } from "../../src/kube/informer.ts";
import { HttpLeaseStore } from "../../src/kube/lease-http.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { adminKubeConfig } from "./support/context.ts";
import { pacPipelineRun, pipelineRuns } from "./support/pipelineruns.ts";
import { eventually } from "./support/poll.ts";
import { createRepository } from "./support/repositories.ts";
import { createSuite } from "./support/suite.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";
import { TektonSimulator } from "./support/tekton-simulator.ts";
import { type RegisteredWebhooks, serveWebhook } from "./support/webhooks.ts";

/**
 * Buckets (issue #24): three reconcilers share 8 buckets of four namespaces' runs. Each bucket's Lease
 * has one holder, every replica holds some, each caches only its buckets' runs, the queues of every
 * namespace move whoever holds them, a SIGKILLed replica's buckets pass to the others, and a run whose
 * bucket label is wrong is labelled again.
 */
const suite = createSuite("buckets");
const admin = adminKubeConfig();
const runs = pipelineRuns(admin);
const count = 8;
const electionId = `tl-buckets-${process.pid}`;
const namespaces: string[] = [];
let webhook: LineageProcess;
let webhooks: RegisteredWebhooks;
let tekton: TektonSimulator;
const replicas: (LineageProcess | undefined)[] = [];
const leases = new HttpLeaseStore(admin, "tekton-lineage");

const reconcilerArgs = () => [
  `--watch-namespaces=${namespaces.join(",")}`,
  `--buckets=${count}`,
  `--leader-election-id=${electionId}`,
  "--leader-lease-duration=2s",
  "--leader-renew-deadline=1500ms",
  "--leader-retry-period=300ms",
  "--queue-position-delay=100ms",
  "--resync=5s",
];
const startReplica = () =>
  startTektonLineage({ role: "reconciler", args: reconcilerArgs(), logLevel: "info" });

/** Who holds each bucket's Lease now ("" for nobody). */
async function holders(): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, bucket) => {
      const lease = await leases.get(`${electionId}-bucket-${bucket}-of-${count}`);
      return lease?.spec?.holderIdentity ?? "";
    }),
  );
}

const live = () => replicas.filter((r): r is LineageProcess => r !== undefined);
const shared = async () => {
  const held = await holders();
  const names = live().map((r) => r.name);
  return held.every((h) => names.includes(h)) && names.every((n) => held.includes(n)) ? held : undefined;
};

beforeAll(async () => {
  for (let i = 0; i < 4; i++) namespaces.push(await suite.namespace(`b${i}`));
  for (const namespace of namespaces)
    await createRepository(admin, {
      namespace,
      name: "repo",
      annotations: { "tekton-lineage.io/queue": "enabled", "tekton-lineage.io/concurrency-limit": "1" },
    });
  ({ webhook, webhooks } = await serveWebhook({ suite: suite.id, namespaces, args: [`--buckets=${count}`] }));
  for (let i = 0; i < 3; i++) replicas.push(await startReplica());
  tekton = new TektonSimulator(admin, namespaces, () => ({ durationMs: 300, succeeded: true }));
  await tekton.start();
});

afterAll(async () => {
  tekton?.stop();
  await webhooks?.remove();
  await webhook?.stop();
  await Promise.all(live().map((r) => r.stop()));
  leases.close();
  await suite.cleanup();
});

describe("buckets shared by three reconcilers", () => {
  it("holds each bucket's Lease by one replica, every replica some, and says so in its metrics", async () => {
    // The first replica up holds every bucket until the others join; then each holds its share (3 of 8).
    const held = await eventually(
      "every bucket held by a live replica, every replica its share",
      async () => {
        const now = await shared();
        return now && live().every((r) => now.filter((h) => h === r.name).length <= 3) ? now : undefined;
      },
      { timeoutMs: 30_000 },
    );
    // A bucket is reconciled once its runs are listed: the term follows the Lease.
    await eventually("every bucket reconciled by one replica", async () => {
      const reconciled = await Promise.all(live().map((r) => r.metric("tekton_lineage_buckets_reconciled")));
      return reconciled.reduce((a, b) => a + b, 0) === count;
    });
    for (const replica of live()) expect(held.filter((h) => h === replica.name).length).toBeGreaterThan(0);
  });

  it("labels each run with its namespace's bucket; each replica caches only its buckets' runs; every queue moves", async () => {
    const created: PipelineRun[] = [];
    for (const namespace of namespaces)
      for (let i = 0; i < 3; i++)
        created.push(
          await runs.create(
            pacPipelineRun({ namespace, sha: randomBytes(20).toString("hex"), repository: "repo" }),
          ),
        );
    for (const run of created)
      expect(run.metadata.labels?.["tekton-lineage.io/bucket"]).toBe(
        bucketOf(run.metadata.namespace ?? "", count),
      );
    await eventually(
      "every run to finish",
      async () => {
        const now = await Promise.all(
          created.map((r) => runs.get(r.metadata.namespace ?? "", r.metadata.name ?? "")),
        );
        return now.every((r) => isDone(r));
      },
      { timeoutMs: 60_000 },
    );
    // Each replica caches the runs of the buckets it holds, and only those.
    const held = (await shared()) ?? [];
    for (const replica of live()) {
      const mine = new Set(held.flatMap((h, bucket) => (h === replica.name ? [bucket] : [])));
      const expected = created.filter((r) =>
        mine.has(bucketIndexOf(r.metadata.namespace ?? "", count)),
      ).length;
      await eventually(
        `${replica.name} to cache its ${expected} runs`,
        async () => (await replica.metric("tekton_lineage_cached_runs")) === expected,
      );
    }
  });

  it("passes a SIGKILLed replica's buckets to the others once their Leases expire; its queues move on", async () => {
    const held = await eventually("the buckets shared", shared, { timeoutMs: 30_000 });
    const victimIndex = replicas.findIndex((r) => r !== undefined && held.includes(r.name));
    const victim = replicas[victimIndex] as LineageProcess;
    const orphaned = held.flatMap((h, bucket) => (h === victim.name ? [bucket] : []));
    const namespace = namespaces.find((ns) => orphaned.includes(bucketIndexOf(ns, count)));
    replicas[victimIndex] = undefined;
    const killedAt = Date.now();
    await victim.kill();
    await eventually("the others to hold every bucket", shared, { timeoutMs: 30_000 });
    const failoverMs = Date.now() - killedAt;
    process.stdout.write(`[buckets] ${orphaned.length} buckets passed on ${failoverMs} ms after a SIGKILL\n`);
    if (namespace) {
      const after = await Promise.all(
        [0, 1].map(() =>
          runs.create(
            pacPipelineRun({ namespace, sha: randomBytes(20).toString("hex"), repository: "repo" }),
          ),
        ),
      );
      await eventually(
        "runs of the passed bucket to finish",
        async () => {
          const now = await Promise.all(after.map((r) => runs.get(namespace, r.metadata.name ?? "")));
          return now.every((r) => isDone(r));
        },
        { timeoutMs: 30_000 },
      );
    }
    replicas[victimIndex] = await startReplica();
    await eventually("the buckets shared by three again", shared, { timeoutMs: 30_000 });
  });

  it("labels runs admitted under another bucket count, and their counters; their queue moves", async () => {
    // A namespace whose runs a webhook still on one bucket admits (as during a change of the count).
    const old = createSuite("buckets-old");
    const namespace = await old.namespace("runs");
    const { webhook: oldWebhook, webhooks: oldWebhooks } = await serveWebhook({
      suite: old.id,
      namespaces: [namespace],
      args: ["--buckets=1"],
    });
    try {
      await createRepository(admin, {
        namespace,
        name: "repo",
        annotations: { "tekton-lineage.io/queue": "enabled", "tekton-lineage.io/concurrency-limit": "1" },
      });
      // The reconcilers watch it too: restarted one by one with the namespace added.
      namespaces.push(namespace);
      for (let i = 0; i < replicas.length; i++) {
        await replicas[i]?.stop();
        replicas[i] = await startReplica();
      }
      tekton.stop();
      tekton = new TektonSimulator(admin, namespaces, () => ({ durationMs: 300, succeeded: true }));
      await tekton.start();
      const created = await Promise.all(
        [0, 1, 2].map(() =>
          runs.create(
            pacPipelineRun({ namespace, sha: randomBytes(20).toString("hex"), repository: "repo" }),
          ),
        ),
      );
      expect(created.map((r) => r.metadata.labels?.["tekton-lineage.io/bucket"])).toEqual([
        "0-of-1",
        "0-of-1",
        "0-of-1",
      ]);
      const wanted = bucketOf(namespace, count);
      await eventually(
        "every run labelled with its bucket and finished",
        async () => {
          const now = await Promise.all(created.map((r) => runs.get(namespace, r.metadata.name ?? "")));
          return now.every((r) => r.metadata.labels?.["tekton-lineage.io/bucket"] === wanted && isDone(r));
        },
        { timeoutMs: 60_000 },
      );
      const counters = await leases.list(
        `tekton-lineage.io/lease-kind=attempt,tekton-lineage.io/run-namespace=${namespace}`,
      );
      expect(counters.map((l) => l.metadata?.labels?.["tekton-lineage.io/bucket"])).toEqual(
        counters.map(() => wanted),
      );
    } finally {
      await oldWebhooks.remove();
      await oldWebhook.stop();
      await old.cleanup();
    }
  });
});

describe("a partitioned informer", () => {
  it("watches only the partitions it is given, adds and drops one alone, and follows a run relabelled between two", async () => {
    const namespace = namespaces[2] ?? "";
    const informer = new Informer<PipelineRun>({
      name: "partitions",
      kubeConfig: admin,
      source: customResourceSource(admin, pipelineRunResource),
      namespaces: [namespace],
      labelSelector: "e2e-partition",
      partitionLabel: "e2e-partition",
      // Untrimmed: the test's partition label is kept (trimPipelineRun keeps tekton-lineage's own).
      transform: (raw) => raw as PipelineRun,
      resyncMs: 60_000,
      logger: silentLogger(),
    });
    const deleted: string[] = [];
    const names = () =>
      informer
        .list()
        .map((r) => r.metadata.name)
        .sort();
    informer.onChange((r, event) => {
      if (event === "deleted") deleted.push(r.metadata.name ?? "");
    });
    const make = async (partition: string) =>
      (
        await runs.create(
          pacPipelineRun({
            namespace,
            sha: randomBytes(20).toString("hex"),
            repository: "none",
            extraLabels: { "e2e-partition": partition, "tekton-lineage.io/webhook": "disabled" },
          }),
        )
      ).metadata.name ?? "";
    const a = await make("a");
    const b = await make("b");
    informer.start();
    try {
      await informer.setPartitions(["a"]);
      expect(names()).toEqual([a]);
      await informer.setPartitions(["a", "b"]);
      expect(names()).toEqual([a, b].sort());
      // Relabelled from a to b: gone from one watch, in the other (perhaps seen deleted first); cached in b.
      await runs.patchMetadata(namespace, a, { labels: { "e2e-partition": "b" } });
      await eventually(
        "the relabelled run seen in b",
        () => informer.get(namespace, a)?.metadata.labels?.["e2e-partition"] === "b",
      );
      await informer.setPartitions(["b"]);
      expect(names()).toEqual([a, b].sort());
      await informer.setPartitions([]);
      expect(informer.list()).toEqual([]);
      // Dropping a partition deletes nothing: its objects only leave the cache.
      expect(deleted.filter((name) => name !== a)).toEqual([]);
    } finally {
      informer.stop();
    }
  });
});
