import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineRun } from "../../src/core/tekton.ts";
import { apiFailure } from "../../src/kube/api-errors.ts";
import { attemptLeaseName } from "../../src/lineage/attempts.ts";
import { adminKubeConfig, e2eContext } from "./support/context.ts";
import { inParallel, withRetries } from "./support/load.ts";
import { pacPipelineRun, pipelineRuns } from "./support/pipelineruns.ts";
import { eventually } from "./support/poll.ts";
import { createSuite } from "./support/suite.ts";
import { TcpProxy } from "./support/tcp-proxy.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";
import { grantPipelineRunAccess, kubeConfigAs } from "./support/users.ts";
import { type RegisteredWebhooks, registerAndServe } from "./support/webhooks.ts";

const suite = createSuite("naming");
const admin = adminKubeConfig();
const runs = pipelineRuns(admin);
const leases = admin.makeApiClient(CoordinationV1Api);
let namespace: string;
let replicas: LineageProcess[] = [];
let balancer: TcpProxy;
let webhooks: RegisteredWebhooks;

const attemptOf = (run: PipelineRun) => Number(run.metadata.annotations?.["tekton-lineage.io/attempt"]);
const newSha = () => randomBytes(20).toString("hex");
const startReplica = () => startTektonLineage({ role: "webhook", args: ["--trusted-users=admin"] });

beforeAll(async () => {
  namespace = await suite.namespace("runs");
  replicas = [await startReplica(), await startReplica()];
  const listenHost = e2eContext().webhookHost === "127.0.0.1" ? "127.0.0.1" : "0.0.0.0";
  balancer = await new TcpProxy(
    replicas.map((r) => r.port),
    listenHost,
  ).start();
  webhooks = await registerAndServe({
    suite: suite.id,
    port: balancer.port,
    mutatingFailurePolicy: "Fail",
    validatingFailurePolicy: "Fail",
    namespace,
    processes: replicas,
  });
  await grantPipelineRunAccess(namespace, "alice");
});

afterAll(async () => {
  await webhooks?.remove();
  await Promise.all(replicas.map((r) => r.stop()));
  await balancer?.stop();
  await suite.cleanup();
});

describe("one lineage under a burst", () => {
  const sha = newSha();
  let burst: PipelineRun[] = [];

  it("gives 200 concurrent creates through 2 webhook processes 200 distinct names and attempts", async () => {
    const reviewsBefore = await Promise.all(
      replicas.map((r) =>
        r.metric("tekton_lineage_admission_reviews_total", { path: "/mutate", outcome: "patched" }),
      ),
    );
    const settled = await Promise.allSettled(
      Array.from({ length: 200 }, () => runs.create(pacPipelineRun({ namespace, sha }))),
    );
    const failures = settled.filter((s) => s.status === "rejected").map((s) => apiFailure(s.reason).message);
    expect(failures).toEqual([]);
    burst = settled.map((s) => (s as PromiseFulfilledResult<PipelineRun>).value);
    expect(new Set(burst.map((r) => r.metadata.name)).size).toBe(200);
    expect(burst.map(attemptOf).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    for (const run of burst) {
      expect(run.metadata.name).toMatch(/^build-[a-z2-7]{10}-\d+$/);
      expect(run.metadata.labels?.["tekton-lineage.io/attempt"]).toBe(String(attemptOf(run)));
    }
    // Both processes admitted part of the burst.
    const reviewsAfter = await Promise.all(
      replicas.map((r) =>
        r.metric("tekton_lineage_admission_reviews_total", { path: "/mutate", outcome: "patched" }),
      ),
    );
    for (const [i, after] of reviewsAfter.entries()) expect(after).toBeGreaterThan(reviewsBefore[i] ?? 0);
  });

  it("gives a retest the next attempt, superseding the previous one", async () => {
    const last = burst.find((r) => attemptOf(r) === 200);
    const retest = await runs.create(pacPipelineRun({ namespace, sha }));
    expect(attemptOf(retest)).toBe(201);
    expect(retest.metadata.annotations?.["tekton-lineage.io/supersedes"]).toBe(last?.metadata.name);
    expect(retest.metadata.annotations?.["tekton-lineage.io/lineage-id"]).toBe(
      last?.metadata.annotations?.["tekton-lineage.io/lineage-id"],
    );
  });

  it("allocates nothing for a dry-run create", async () => {
    const id = burst[0]?.metadata.annotations?.["tekton-lineage.io/lineage-id"] ?? "";
    const lease = () =>
      leases.readNamespacedLease({ name: attemptLeaseName(id), namespace: "tekton-lineage" });
    const before = await lease();
    const preview = await runs.create(pacPipelineRun({ namespace, sha }), { dryRun: true });
    expect(attemptOf(preview)).toBe(202);
    const after = await lease();
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(after.metadata?.annotations?.["tekton-lineage.io/last-attempt"]).toBe("201");
    expect((await runs.list(namespace, `tekton-lineage.io/attempt=202`)).length).toBe(0);
  });
});

describe("a webhook process killed and restarted mid-burst", () => {
  it("loses no uniqueness", async () => {
    const sha = newSha();
    let webhookErrors = 0;
    let killed = false;
    const created = await inParallel(150, 15, async (i) => {
      if (i === 40 && !killed) {
        killed = true;
        const victim = replicas[0];
        await victim?.kill();
        const restarted = await startReplica();
        replicas[0] = restarted;
        balancer.setBackends(replicas.map((r) => r.port));
      }
      return withRetries(
        () => runs.create(pacPipelineRun({ namespace, sha })),
        8,
        () => webhookErrors++,
      );
    });
    expect(killed).toBe(true);
    const names = created.map((r) => r.metadata.name);
    const attempts = created.map(attemptOf);
    expect(new Set(names).size).toBe(150);
    expect(new Set(attempts).size).toBe(150);
    expect(attempts.every((a) => Number.isInteger(a) && a > 0)).toBe(true);
    // Whatever the kill cut short may leave gaps in the numbering, never a repeat.
    const stored = await runs.list(
      namespace,
      `tekton-lineage.io/lineage-id=${created[0]?.metadata.labels?.["tekton-lineage.io/lineage-id"]}`,
    );
    expect(stored).toHaveLength(150);
    expect(new Set(stored.map(attemptOf)).size).toBe(150);
    process.stdout.write(
      `[naming] kill mid-burst: 150 runs, ${webhookErrors} creates retried, max attempt ${Math.max(...attempts)}\n`,
    );
  });
});

describe("forged and foreign edits", () => {
  const alice = pipelineRuns(kubeConfigAs("alice"));

  it("refuses a create that sets attempt: 1 by hand, saying what and how to fix it", async () => {
    const forged = pacPipelineRun({
      namespace,
      sha: newSha(),
      extraAnnotations: { "tekton-lineage.io/attempt": "1" },
      extraLabels: { "tekton-lineage.io/attempt": "1" },
    });
    const failure = await alice.create(forged).then(
      () => undefined,
      (e: unknown) => apiFailure(e),
    );
    expect(failure?.code).toBe(403);
    expect(failure?.message).toMatch(/not set by tekton-lineage/);
    expect(failure?.message).toMatch(/remove them from the object you create/);
  });

  it("refuses a malformed claim with 422", async () => {
    const malformed = pacPipelineRun({
      namespace,
      sha: newSha(),
      extraAnnotations: { "tekton-lineage.io/attempt": "first" },
    });
    const failure = await alice.create(malformed).then(
      () => undefined,
      (e: unknown) => apiFailure(e),
    );
    expect(failure?.code).toBe(422);
  });

  it("refuses a copy of an existing run with its claims (a replay)", async () => {
    const original = await runs.create(pacPipelineRun({ namespace, sha: newSha() }));
    const copy = structuredClone(original);
    copy.metadata = {
      namespace,
      name: `${original.metadata.name}-copy`,
      labels: original.metadata.labels,
      annotations: {
        ...original.metadata.annotations,
        "tekton-lineage.io/admitted-at": "2020-01-01T00:00:00.000Z",
      },
    };
    const failure = await alice.create(copy).then(
      () => undefined,
      (e: unknown) => apiFailure(e),
    );
    expect(failure?.code).toBe(403);
  });

  it("refuses alice's edit of the attempt on an existing run, and lets tekton-lineage's identity make it", async () => {
    const run = await runs.create(pacPipelineRun({ namespace, sha: newSha() }));
    const name = run.metadata.name ?? "";
    const failure = await alice
      .patchMetadata(namespace, name, { labels: { "tekton-lineage.io/attempt": "7" } })
      .then(
        () => undefined,
        (e: unknown) => apiFailure(e),
      );
    expect(failure?.code).toBe(403);
    expect(failure?.message).toMatch(/by alice refused: label tekton-lineage.io\/attempt/);
    // Other edits by alice are fine.
    await alice.patchMetadata(namespace, name, { labels: { team: "a" } });
    // The trusted identity (here: admin, as configured) may change tekton-lineage's keys.
    await runs.patchMetadata(namespace, name, { annotations: { "tekton-lineage.io/queue-position": "0" } });
  });

  it("lists every rejection with the documented kubectl command", async () => {
    const { kubectl, kubeconfig } = e2eContext();
    const rows = await eventually(
      "the rejections as Events",
      () => {
        const out = execFileSync(
          kubectl,
          [
            "get",
            "events",
            "-A",
            "--field-selector",
            "reportingComponent=tekton-lineage",
            "--kubeconfig",
            kubeconfig,
          ],
          { encoding: "utf8" },
        );
        const mine = out.split("\n").filter((line) => line.startsWith(namespace));
        const reasons = mine.map((line) => line.split(/\s+/)[3]);
        const created = reasons.filter((r) => r === "CreationRejected").length;
        const updated = reasons.filter((r) => r === "UpdateRejected").length;
        return created >= 3 && updated >= 1 ? mine : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    );
    expect(rows.join("\n")).toMatch(
      /CreationRejected\s+pipelinerun\/build-\s+CREATE by alice denied \(403\)/,
    );
    expect(rows.join("\n")).toMatch(
      /UpdateRejected\s+pipelinerun\/build-[a-z2-7]{10}-\d+\s+UPDATE by alice denied \(403\)/,
    );
  });
});

describe("attempt counters of finished lineages", () => {
  it("are deleted once no run of the lineage is left, and kept while one is", async () => {
    const reconciler = await startTektonLineage({
      role: "reconciler",
      args: [`--watch-namespaces=${namespace}`, "--counter-gc-interval=500ms", "--counter-gc-grace=1s"],
    });
    try {
      const gone = await runs.create(pacPipelineRun({ namespace, sha: newSha() }));
      const kept = await runs.create(pacPipelineRun({ namespace, sha: newSha() }));
      const counterOf = (run: PipelineRun) =>
        attemptLeaseName(run.metadata.labels?.["tekton-lineage.io/lineage-id"] ?? "");
      await runs.delete(namespace, gone.metadata.name ?? "");
      const exists = (name: string) =>
        leases.readNamespacedLease({ name, namespace: "tekton-lineage" }).then(
          () => true,
          () => false,
        );
      await eventually(
        "the counter of the deleted run's lineage to be deleted",
        async () => !(await exists(counterOf(gone))),
        {
          timeoutMs: 20_000,
          intervalMs: 250,
        },
      );
      expect(await exists(counterOf(kept))).toBe(true);
      expect(
        await reconciler.metric("tekton_lineage_attempt_counters_collected_total"),
      ).toBeGreaterThanOrEqual(1);
      // The lineage starts again at attempt 1: no run of it is left to collide with.
      const again = await runs.create(
        pacPipelineRun({
          namespace,
          sha: gone.metadata.annotations?.["pipelinesascode.tekton.dev/sha"] ?? "",
        }),
      );
      expect(attemptOf(again)).toBe(1);
    } finally {
      await reconciler.stop();
    }
  });
});
