/**
 * make bench-scale (issue #24): 100k PipelineRuns over 5k namespaces and 2k queues on the local control
 * plane, reconciled by 1 and then 3 replicas sharing the buckets. Per replica: memory (RSS) and runs cached,
 * CPU per promotion; overall: promotions/s, promotion p99 (a run finished → the next of its queue started),
 * GitLab status p99 (a run finished → GitLab shows its success), and the time the buckets of a SIGKILLed
 * replica take to pass to the others. Printed with the ratios 3 replicas / 1 replica. Not part of make test.
 *
 *   SCALE_RUNS (100000)  SCALE_NAMESPACES (5000)  SCALE_QUEUES (2000)  SCALE_BUCKETS (16)
 *   SCALE_NODE_OPTIONS (added to the replicas' NODE_OPTIONS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof")
 *
 * On one machine the API server, etcd and every replica share the same cores, so the throughput ratio
 * says what the machine has left, not what three nodes would do; the CPU a replica spends per promotion,
 * and its share of the work, say the latter.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { bucketIndexOf, bucketOf } from "../src/core/buckets.ts";
import { isDone, type PipelineRun, pipelineRunResource, trimPipelineRun } from "../src/core/tekton.ts";
import { customResourceSource } from "../src/kube/custom-objects.ts";
import { Informer } from "../src/kube/informer.ts";
import { HttpLeaseStore } from "../src/kube/lease-http.ts";
import { lineageIdOf } from "../src/lineage/lineage.ts";
import { silentLogger } from "../src/observability/logger.ts";
import { registerWebhooksByUrl } from "../test/e2e/controlplane/register-webhooks.ts";
import { type LineageProcess, startLineageProcess } from "../test/e2e/support/lineage-process.ts";
import { inParallel, withRetries } from "../test/e2e/support/load.ts";
import { pacPipelineRun } from "../test/e2e/support/pipelineruns.ts";
import { eventually } from "../test/e2e/support/poll.ts";
import { imageEnvironment } from "../test/e2e/support/process-memory.ts";
import { createRepository } from "../test/e2e/support/repositories.ts";
import { FakeGitLab, type RecordedRequest } from "../test/fakes/gitlab/server.ts";
import { cpuSeconds } from "./lib/cpu.ts";
import type { BenchEnvironment } from "./lib/environment.ts";
import { rssMiB } from "./lib/process-memory.ts";
import { ms, summarize } from "./lib/stats.ts";

const total = Number(process.env.SCALE_RUNS ?? 100_000);
const namespaceCount = Number(process.env.SCALE_NAMESPACES ?? 5_000);
const queueCount = Math.min(namespaceCount, Number(process.env.SCALE_QUEUES ?? 2_000));
const buckets = Number(process.env.SCALE_BUCKETS ?? 16);
/** The replicas' environment: the image's, with SCALE_NODE_OPTIONS added (e.g. `--cpu-prof --cpu-prof-dir=…`). */
const replicaEnvironment = {
  ...imageEnvironment,
  NODE_OPTIONS: `${imageEnvironment.NODE_OPTIONS} ${process.env.SCALE_NODE_OPTIONS ?? ""}`.trim(),
};
/** Each queue (limit 1) gets one run that starts and this many that wait, per phase. */
const waitingPerQueue = 1;
const electionId = "tl-scale";
const project = 1001;

interface PhaseResult {
  replicas: number;
  promotions: number;
  perSecond: number;
  promotionP99: number;
  gitlabP99: number;
  memory: {
    name: string;
    rss: number;
    cached: number;
    heap: number;
    cpuPerPromotionMs: number;
    promotions: number;
  }[];
}

export async function benchScale(env: BenchEnvironment, print: (line: string) => void): Promise<void> {
  const kc = env.kubeConfig;
  const core = kc.makeApiClient(CoreV1Api);
  const api = kc.makeApiClient(CustomObjectsApi);
  const namespaces = Array.from({ length: namespaceCount }, (_, i) => `scale-${i}`);
  const queued = namespaces.slice(0, queueCount);
  const gitlab = await new FakeGitLab().start();
  gitlab.model.addProject(project, "demo/demo-repo");
  gitlab.model.addToken("glpat-scale", "tekton-lineage-bot");
  const gitProvider = { url: gitlab.url, type: "gitlab", secret: { name: "gitlab-token", key: "token" } };
  let started = performance.now();
  await inParallel(namespaceCount, 16, async (i) => {
    const namespace = namespaces[i] ?? "";
    await core.createNamespace({ body: { metadata: { name: namespace, labels: { bench: "scale" } } } });
    if (i >= queueCount) return;
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: "gitlab-token" }, stringData: { token: "glpat-scale" } },
    });
    await createRepository(kc, {
      namespace,
      name: "repo",
      url: `${gitlab.url}/demo/demo-repo`,
      gitProvider,
      annotations: { "tekton-lineage.io/queue": "enabled", "tekton-lineage.io/concurrency-limit": "1" },
    });
  });
  print(
    `${namespaceCount} namespaces, ${queueCount} of them with an opted-in Repository (a queue, limit 1), in ${secondsSince(started)}s`,
  );

  const common = [
    "--trusted-users=admin",
    `--buckets=${buckets}`,
    `--leader-election-id=${electionId}`,
    `--gitlab-hosts=${new URL(gitlab.url).host}`,
    "--max-new-lineages-per-namespace=100000",
    "--max-new-lineages=1000000",
  ];
  // The floor: a replica holding and having reconciled every bucket of a cluster without runs.
  const empty = await startLineageProcess(env, {
    role: "reconciler",
    args: common,
    logLevel: "info",
    env: imageEnvironment,
  });
  await eventually(
    "the empty replica to reconcile every bucket",
    async () => (await empty.metric("tekton_lineage_buckets_reconciled")) === buckets,
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  const floorRss = rssMiB(empty.pid);
  const floorHeap = await heapMiB(empty);
  await empty.stop();
  print(
    `an empty replica: RSS ${floorRss.toFixed(0)} MiB (the floor), JS heap used ${floorHeap.toFixed(0)} MiB`,
  );

  // The runs every replica caches: as admitted (lineage, attempt, bucket), with a pipelineSpec it trims.
  const tasks = Array.from({ length: 12 }, (_, t) => ({
    name: `task-${t}`,
    taskSpec: {
      steps: [{ name: "run", image: "registry.example/builder:1", script: `echo ${t}\n`.repeat(8) }],
    },
  }));
  started = performance.now();
  await inParallel(total, 32, async (i) => {
    const namespace = namespaces[i % namespaceCount] ?? "";
    const run = pacPipelineRun({
      namespace,
      sha: randomBytes(20).toString("hex"),
      repository: "repo",
      extraLabels: {
        "tekton-lineage.io/lineage-id": lineageIdOf(`scale/${i}`),
        "tekton-lineage.io/attempt": "1",
        "tekton-lineage.io/bucket": bucketOf(namespace, buckets),
      },
    });
    (run.spec as Record<string, unknown>).pipelineSpec = { tasks };
    delete (run.spec as Record<string, unknown>).pipelineRef;
    await api.createNamespacedCustomObject({ ...pipelineRunResource, namespace, body: run });
  });
  print(`created ${total} PipelineRuns in ${secondsSince(started)}s`);

  const webhook = await startLineageProcess(env, { role: "webhook", args: common, logLevel: "info" });
  const unregister = await registerWebhooksByUrl(kc, {
    name: "tekton-lineage-scale",
    baseUrl: `https://127.0.0.1:${webhook.port}`,
    caPem: readFileSync(join(env.certDir, "ca.crt"), "utf8"),
    namespaceLabels: { bench: "scale" },
    mutatingFailurePolicy: "Fail",
  });
  const leases = new HttpLeaseStore(kc, "tekton-lineage");
  const holders = async () =>
    Promise.all(
      Array.from({ length: buckets }, async (_, b) => {
        const lease = await leases.get(`${electionId}-bucket-${b}-of-${buckets}`);
        return lease?.spec?.holderIdentity ?? "";
      }),
    );
  // The queued runs only (admitted through the webhook): their starts are the promotions.
  const watched = new Informer<PipelineRun>({
    name: "scale-bench",
    kubeConfig: kc,
    source: customResourceSource(kc, pipelineRunResource),
    namespaces: [],
    labelSelector: "tekton-lineage.io/queue-id",
    transform: trimPipelineRun,
    resyncMs: 3_600_000,
    logger: silentLogger(),
  });
  watched.start();
  await watched.whenSynced();

  const replicas: LineageProcess[] = [];
  /** Runs the previous phase's replicas cached in all (0 before the first). */
  let cachedBefore = 0;
  const startReplicas = async (count: number) => {
    const starting = performance.now();
    const up = await Promise.all(
      Array.from({ length: count }, () =>
        startLineageProcess(env, {
          role: "reconciler",
          args: common,
          logLevel: "info",
          env: replicaEnvironment,
          readyTimeoutMs: 900_000,
        }),
      ),
    );
    replicas.push(...up);
    // Ready: every bucket held by one of them and reconciled (its runs listed).
    await eventually(
      "every bucket held and reconciled",
      async () => {
        const held = await holders();
        const names = new Set(replicas.map((r) => r.name));
        if (!held.every((h) => names.has(h))) return false;
        const reconciled = await Promise.all(
          replicas.map((r) => r.metric("tekton_lineage_buckets_reconciled")),
        );
        return (
          reconciled.reduce((a, b) => a + b, 0) === buckets && (count === 1 || new Set(held).size === count)
        );
      },
      { timeoutMs: 900_000, intervalMs: 1000 },
    );
    print(
      `${count} replica(s) hold and reconcile all ${buckets} buckets ${secondsSince(starting)}s after start`,
    );
    // Measured once no replica still lists a bucket it handed on (kept four lease durations): every run
    // is then cached once.
    if (cachedBefore > 0)
      await eventually(
        "every run cached by one replica only",
        async () => {
          const cached = await Promise.all(replicas.map((r) => r.metric("tekton_lineage_cached_runs")));
          return cached.reduce((a, b) => a + b, 0) <= cachedBefore;
        },
        { timeoutMs: 300_000, intervalMs: 2000 },
      );
  };

  const phase = async (replicaCount: number): Promise<PhaseResult> => {
    await startReplicas(replicaCount);
    const held = await holders();
    const holderOf = (namespace: string) => held[bucketIndexOf(namespace, buckets)] ?? "";
    // Admit one running and `waitingPerQueue` waiting runs per queue.
    const shas = new Map<string, string>();
    const admitted = performance.now();
    let retried = 0;
    let fellBack = 0;
    // Eight at a time: past that, admissions on this machine wait beyond the 3 s deadline and fall back.
    await inParallel(queueCount * (1 + waitingPerQueue), 8, async (i) => {
      const namespace = queued[i % queueCount] ?? "";
      const sha = randomBytes(20).toString("hex");
      gitlab.model.addCommit(project, sha, "feature/login");
      // A create the API server could not get through to the webhook (an overloaded machine) is made again.
      const run = (await withRetries(
        () =>
          api.createNamespacedCustomObject({
            ...pipelineRunResource,
            namespace,
            body: pacPipelineRun({ namespace, sha, repository: "repo" }),
          }),
        5,
        () => {
          retried += 1;
        },
      )) as PipelineRun;
      // A run admitted without a queue claim (the admission fell back) runs outside the queue: not counted.
      if (run.metadata.labels?.["tekton-lineage.io/queue-id"])
        shas.set(`${namespace}/${run.metadata.name}`, sha);
      else fellBack += 1;
    });
    print(
      `admitted ${queueCount * (1 + waitingPerQueue)} runs in ${secondsSince(admitted)}s: ${shas.size} queued, ${fellBack} fell back, ${retried} creates made again`,
    );
    const perQueue = new Map<string, number>();
    for (const run of shas.keys())
      perQueue.set(run.split("/")[0] ?? "", (perQueue.get(run.split("/")[0] ?? "") ?? 0) + 1);
    const live = () => watched.list().filter((r) => shas.has(key(r)) && !isDone(r));
    const running = () => live().filter((r) => r.spec?.status !== "PipelineRunPending");
    await eventually("one run per queue to run", () => running().length === perQueue.size, {
      timeoutMs: 600_000,
      intervalMs: 1000,
    });

    // Closed loop per queue: a started run is finished at once; the next of its queue is a promotion.
    const finishedAt = new Map<string, number>();
    const finishing = new Set<string>();
    const promotionLatencies: number[] = [];
    const gitlabLatencies: number[] = [];
    const promotionsBy = new Map<string, number>();
    const awaitingGitLab = new Map<string, number>();
    const target = [...perQueue.values()].reduce((n, queued) => n + queued - 1, 0);
    let promotions = 0;
    let lastPromotion = 0;
    const listener = (request: RecordedRequest) => {
      const sha = /statuses\/([0-9a-f]+)$/.exec(request.path)?.[1];
      const state = (request.body as { state?: string } | undefined)?.state;
      const since = sha ? awaitingGitLab.get(sha) : undefined;
      if (request.method === "POST" && request.status === 201 && since !== undefined && state === "success") {
        awaitingGitLab.delete(sha ?? "");
        gitlabLatencies.push(performance.now() - since);
      }
    };
    const stopListening = gitlab.onRequest(listener);
    const finish = async (run: PipelineRun) => {
      const namespace = run.metadata.namespace ?? "";
      finishing.add(key(run));
      const at = performance.now();
      finishedAt.set(namespace, at);
      const sha = shas.get(key(run));
      if (sha) awaitingGitLab.set(sha, at);
      await api.patchNamespacedCustomObjectStatus(
        {
          ...pipelineRunResource,
          namespace,
          name: run.metadata.name ?? "",
          body: {
            status: {
              conditions: [{ type: "Succeeded", status: "True", reason: "Succeeded", message: "done" }],
            },
          },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    };
    let allPromoted: () => void = () => {};
    const promoted = new Promise<void>((resolve) => {
      allPromoted = resolve;
    });
    const cpuBefore = replicas.map((r) => cpuSeconds(r.pid));
    const windowStart = performance.now();
    const onRun = (run: PipelineRun) => {
      if (
        !shas.has(key(run)) ||
        finishing.has(key(run)) ||
        isDone(run) ||
        run.spec?.status === "PipelineRunPending"
      )
        return;
      const namespace = run.metadata.namespace ?? "";
      const freed = finishedAt.get(namespace);
      if (freed !== undefined) {
        promotions += 1;
        lastPromotion = performance.now();
        promotionLatencies.push(lastPromotion - freed);
        const holder = holderOf(namespace);
        promotionsBy.set(holder, (promotionsBy.get(holder) ?? 0) + 1);
        if (promotions === target) allPromoted();
      }
      void finish(run).catch(() => finishing.delete(key(run)));
    };
    if (target === 0) allPromoted();
    watched.onChange(onRun);
    for (const run of running()) onRun(run);
    // Given up on after ten minutes; the timer is cleared, or it would hold the bench's event loop.
    let giveUp: NodeJS.Timeout | undefined;
    await Promise.race([promoted, new Promise((resolve) => (giveUp = setTimeout(resolve, 600_000)))]);
    clearTimeout(giveUp);
    if (promotions < target) print(`only ${promotions} of ${target} promotions within 10 minutes`);
    const seconds = (lastPromotion - windowStart) / 1000;
    await eventually("GitLab to show every finished run's success", () => awaitingGitLab.size <= 0, {
      timeoutMs: 300_000,
      intervalMs: 1000,
    }).catch(() => undefined);
    stopListening();
    const memory = await Promise.all(
      replicas.map(async (r, i) => ({
        name: r.name,
        rss: rssMiB(r.pid),
        cached: await r.metric("tekton_lineage_cached_runs"),
        heap: await heapMiB(r),
        promotions: promotionsBy.get(r.name) ?? 0,
        cpuPerPromotionMs:
          ((cpuSeconds(r.pid) - (cpuBefore[i] ?? 0)) * 1000) / Math.max(1, promotionsBy.get(r.name) ?? 0),
      })),
    );
    const p = summarize(promotionLatencies);
    const g = summarize(gitlabLatencies);
    print(
      `${replicaCount} replica(s): ${promotions} promotions in ${seconds.toFixed(1)}s = ${(promotions / seconds).toFixed(1)}/s; ` +
        `promotion p50 ${ms(p.p50)} p99 ${ms(p.p99)}; GitLab status p50 ${ms(g.p50)} p99 ${ms(g.p99)} over ${g.count}`,
    );
    for (const m of memory)
      print(
        `  ${m.name}: RSS ${m.rss.toFixed(0)} MiB (${(m.rss - floorRss).toFixed(0)} above the floor, ${(((m.rss - floorRss) * 1024) / Math.max(1, m.cached)).toFixed(1)} KiB a cached run), ${m.cached} runs cached, JS heap used ${m.heap.toFixed(0)} MiB, ${m.promotions} promotions, ${m.cpuPerPromotionMs.toFixed(1)} ms CPU per promotion`,
      );
    return {
      replicas: replicaCount,
      promotions,
      perSecond: promotions / seconds,
      promotionP99: p.p99,
      gitlabP99: g.p99,
      memory,
    };
  };

  try {
    const one = await phase(1);
    cachedBefore = one.memory.reduce((n, m) => n + m.cached, 0);
    await Promise.all(replicas.splice(0).map((r) => r.stop()));
    const three = await phase(3);

    // Failover: the replica holding the most buckets is killed; the others take them over.
    const held = await holders();
    const victim = replicas
      .map((r) => ({ r, n: held.filter((h) => h === r.name).length }))
      .sort((a, b) => b.n - a.n)[0];
    let failoverMs = Number.NaN;
    if (victim) {
      const killedAt = performance.now();
      await victim.r.kill();
      replicas.splice(replicas.indexOf(victim.r), 1);
      const names = new Set(replicas.map((r) => r.name));
      await eventually(
        "the others to hold every bucket",
        async () => (await holders()).every((h) => names.has(h)),
        {
          timeoutMs: 300_000,
          intervalMs: 200,
        },
      );
      failoverMs = performance.now() - killedAt;
      print(
        `SIGKILL of ${victim.r.name} (${victim.n} buckets): all held again ${ms(failoverMs)} later (lease 15s)`,
      );
    }
    const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : "n/a");
    const maxRss = (r: PhaseResult) => Math.max(...r.memory.map((m) => m.rss - floorRss));
    const maxCached = (r: PhaseResult) => Math.max(...r.memory.map((m) => m.cached));
    const cpu = (r: PhaseResult) =>
      r.memory.reduce((n, m) => n + m.cpuPerPromotionMs * m.promotions, 0) / Math.max(1, r.promotions);
    print(
      `ratios 3 replicas / 1 replica: promotions/s ${ratio(three.perSecond, one.perSecond)}, promotion p99 ${ratio(three.promotionP99, one.promotionP99)}, ` +
        `GitLab p99 ${ratio(three.gitlabP99, one.gitlabP99)}, largest replica RSS above the floor ${ratio(maxRss(three), maxRss(one))}, ` +
        `largest replica cache ${ratio(maxCached(three), maxCached(one))}, CPU per promotion ${ratio(cpu(three), cpu(one))}` +
        (Number.isFinite(failoverMs) ? `; bucket failover ${ms(failoverMs)}` : ""),
    );
  } finally {
    watched.stop();
    await Promise.all(replicas.map((r) => r.stop()));
    await unregister();
    await webhook.stop();
    leases.close();
    await gitlab.stop();
  }
}

/** The JS heap a replica uses (its own metric): what of its RSS are live objects, not pages kept. */
async function heapMiB(replica: LineageProcess): Promise<number> {
  return (await replica.metric("tekton_lineage_nodejs_heap_size_used_bytes")) / 2 ** 20;
}

const key = (run: PipelineRun) => `${run.metadata.namespace}/${run.metadata.name}`;
const secondsSince = (start: number) => ((performance.now() - start) / 1000).toFixed(1);
