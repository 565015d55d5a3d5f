import { randomBytes } from "node:crypto";
import type { V1Lease } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDone, type PipelineRun, pipelineRunResource, trimPipelineRun } from "../../src/core/tekton.ts";
import { customResourceSource } from "../../src/kube/custom-objects.ts";
import { Informer } from "../../src/kube/informer.ts";
import { HttpLeaseStore } from "../../src/kube/lease-http.ts";
import { type CachedLease, leaseSource } from "../../src/kube/leases.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { readQueueState } from "../../src/queue/state.ts";
import { adminKubeConfig } from "./support/context.ts";
import { inParallel, withRetries } from "./support/load.ts";
import { pacPipelineRun, pipelineRuns } from "./support/pipelineruns.ts";
import { eventually } from "./support/poll.ts";
import { createRepository } from "./support/repositories.ts";
import { createSuite } from "./support/suite.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";
import { TektonSimulator } from "./support/tekton-simulator.ts";
import { type RegisteredWebhooks, registerAndServe } from "./support/webhooks.ts";

/**
 * Chaos: 3 reconciler processes, killed with SIGKILL and restarted at random, keep 10 queues (limits 1 to
 * 5) moving for 300 PipelineRuns while a simulated Tekton controller runs them for random durations.
 * Checked continuously from the cluster's own event stream: never more running than the limit, FIFO
 * grants per queue, no slot held by a finished run longer than the TTL; at the end every run ran once.
 */
const suite = createSuite("chaos");
const admin = adminKubeConfig();
const runs = pipelineRuns(admin);
const keys = Array.from({ length: 10 }, (_, i) => ({ repository: `repo-${i}`, limit: (i % 5) + 1 }));
const total = 300;
const ttlMs = 8_000;
let namespace: string;
let webhook: LineageProcess;
let webhooks: RegisteredWebhooks;
let reconcilers: (LineageProcess | undefined)[] = [];

const reconcilerArgs = () => [
  `--watch-namespaces=${namespace}`,
  `--queue-ttl=${ttlMs}ms`,
  "--queue-position-delay=250ms",
  "--leader-lease-duration=2s",
  "--leader-renew-deadline=1500ms",
  "--leader-retry-period=300ms",
  "--resync=5s",
];

beforeAll(async () => {
  namespace = await suite.namespace("runs");
  for (const key of keys) {
    await createRepository(admin, {
      namespace,
      name: key.repository,
      annotations: {
        "tekton-lineage.io/queue": "enabled",
        "tekton-lineage.io/concurrency-limit": String(key.limit),
      },
    });
  }
  webhook = await startTektonLineage({
    role: "webhook",
    args: [`--watch-namespaces=${namespace}`],
    logLevel: "info",
  });
  webhooks = await registerAndServe({
    suite: suite.id,
    port: webhook.port,
    mutatingFailurePolicy: "Fail",
    namespace,
    processes: webhook,
  });
  reconcilers = await Promise.all(
    [0, 1, 2].map(() => startTektonLineage({ role: "reconciler", args: reconcilerArgs(), logLevel: "info" })),
  );
});

afterAll(async () => {
  await webhooks?.remove();
  await webhook?.stop();
  await Promise.all(reconcilers.map((r) => r?.stop()));
  await suite.cleanup();
});

describe("the queue under chaos", () => {
  it("holds every limit, grants in FIFO order, frees slots of finished runs in time, and runs everything once", {
    timeout: 400_000,
  }, async () => {
    const limitOf = new Map(keys.map((k) => [k.repository, k.limit]));
    const repositoryOf = (run: PipelineRun) =>
      run.metadata.annotations?.["pipelinesascode.tekton.dev/repository"] ?? "";
    const violations: string[] = [];
    const checks = {
      samples: 0,
      maxRunning: new Map<string, number>(),
      fifoPairs: 0,
      slotChecks: 0,
      kills: 0,
    };
    const running = new Map<string, Set<string>>();
    const doneAt = new Map<string, number>();

    // The cluster's own event stream, in resourceVersion order.
    const watched = new Informer<PipelineRun>({
      name: "chaos-observer",
      kubeConfig: admin,
      source: customResourceSource(admin, pipelineRunResource),
      namespaces: [namespace],
      transform: trimPipelineRun,
      resyncMs: 60_000,
      logger: silentLogger(),
    });
    watched.onChange((run, event) => {
      const repository = repositoryOf(run);
      const key = `${namespace}/${run.metadata.name}`;
      const set = running.get(repository) ?? new Set<string>();
      running.set(repository, set);
      if (event === "deleted" || isDone(run)) {
        set.delete(key);
        if (isDone(run) && !doneAt.has(key)) doneAt.set(key, Date.now());
      } else if (run.spec?.status !== "PipelineRunPending") set.add(key);
      checks.samples += 1;
      const limit = limitOf.get(repository) ?? 0;
      checks.maxRunning.set(repository, Math.max(checks.maxRunning.get(repository) ?? 0, set.size));
      if (set.size > limit) violations.push(`${repository}: ${set.size} running > limit ${limit}`);
    });
    const leases = new Informer<CachedLease>({
      name: "chaos-leases",
      kubeConfig: admin,
      source: leaseSource(admin, "tekton-lineage"),
      namespaces: ["tekton-lineage"],
      labelSelector: "tekton-lineage.io/lease-kind=queue",
      transform: (raw) => raw as CachedLease,
      resyncMs: 60_000,
      logger: silentLogger(),
    });
    const slotCheck = () => {
      for (const lease of leases.list()) {
        const state = readQueueState(lease as V1Lease);
        for (const slot of state?.slots ?? []) {
          const done = doneAt.get(slot.run);
          if (done === undefined) continue;
          checks.slotChecks += 1;
          if (Date.now() - done > ttlMs)
            violations.push(`slot of ${slot.run} held ${Date.now() - done}ms after it finished`);
        }
      }
    };
    leases.onChange(slotCheck);
    watched.start();
    leases.start();
    await Promise.all([watched.whenSynced(), leases.whenSynced()]);
    const sampler = setInterval(slotCheck, 100);
    const progress = setInterval(() => {
      const finished = watched.list().filter((r) => isDone(r)).length;
      const pending = watched.list().filter((r) => r.spec?.status === "PipelineRunPending").length;
      process.stdout.write(
        `[chaos] ${watched.size} created, ${pending} waiting, ${finished} finished, ${checks.kills} kills\n`,
      );
    }, 5000);

    const tekton = new TektonSimulator(admin, [namespace], () => ({
      durationMs: 200 + Math.floor(Math.random() * 1300),
      succeeded: true,
    }));
    await tekton.start();

    // Chaos: every 1.5-3 s one reconciler is killed (SIGKILL) and restarted 0.3-1.3 s later.
    let chaos = true;
    const monkey = (async () => {
      while (chaos) {
        await new Promise((r) => setTimeout(r, 1500 + Math.random() * 1500));
        if (!chaos) break;
        const index = Math.floor(Math.random() * reconcilers.length);
        const victim = reconcilers[index];
        reconcilers[index] = undefined;
        await victim?.kill();
        checks.kills += 1;
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 1000));
        reconcilers[index] = await startTektonLineage({
          role: "reconciler",
          args: reconcilerArgs(),
          logLevel: "info",
        });
      }
    })();

    try {
      const created = await inParallel(total, 12, (i) =>
        withRetries(
          () =>
            runs.create(
              pacPipelineRun({
                namespace,
                sha: randomBytes(20).toString("hex"),
                repository: keys[i % keys.length]?.repository,
              }),
            ),
          5,
        ),
      );
      expect(created).toHaveLength(total);
      await eventually("every run to finish", () => watched.list().filter((r) => isDone(r)).length >= total, {
        timeoutMs: 240_000,
        intervalMs: 500,
      });
    } catch (error) {
      // Say what is stuck, so a failure can be understood from the log alone.
      for (const run of watched.list().filter((r) => !isDone(r))) {
        process.stdout.write(
          `[chaos] unfinished ${run.metadata.name} spec.status=${run.spec?.status} ${JSON.stringify(run.metadata.annotations)}\n`,
        );
      }
      const queueLeases = new HttpLeaseStore(admin, "tekton-lineage");
      const stored = await queueLeases
        .list("tekton-lineage.io/lease-kind=queue")
        .finally(() => queueLeases.close());
      process.stdout.write(`[chaos] ${stored.length} queue Leases (cache: ${leases.size})\n`);
      for (const lease of stored) {
        const state = readQueueState(lease);
        if (state && (state.waiting.length > 0 || state.slots.length > 0))
          process.stdout.write(`[chaos] queue ${JSON.stringify(state)}\n`);
      }
      throw error;
    } finally {
      chaos = false;
      await monkey;
      clearInterval(sampler);
      clearInterval(progress);
      tekton.stop();
      watched.stop();
      leases.stop();
    }

    // Every run started exactly once and ended.
    const started = tekton.started.map((s) => s.run);
    expect(new Set(started).size).toBe(total);
    expect(started).toHaveLength(total);
    expect(watched.list().every((r) => r.status?.conditions?.some((c) => c.reason === "Succeeded"))).toBe(
      true,
    );

    // FIFO: within each queue, slots were granted (fence) in ticket order.
    for (const key of keys) {
      const inQueue = watched
        .list()
        .filter((r) => repositoryOf(r) === key.repository)
        .map((r) => ({
          ticket: Number(r.metadata.annotations?.["tekton-lineage.io/queue-ticket"]),
          fence: Number(r.metadata.annotations?.["tekton-lineage.io/queue-slot"]),
        }))
        .sort((a, b) => a.ticket - b.ticket);
      for (let i = 1; i < inQueue.length; i++) {
        checks.fifoPairs += 1;
        const [before, after] = [inQueue[i - 1], inQueue[i]];
        if (!before || !after || !(after.fence > before.fence)) {
          violations.push(
            `${key.repository}: ticket ${after?.ticket} got fence ${after?.fence} after ticket ${before?.ticket}'s ${before?.fence}`,
          );
        }
      }
    }

    const maxRunning = [...checks.maxRunning].map(([k, v]) => `${k}=${v}/${limitOf.get(k)}`).join(" ");
    process.stdout.write(
      `[chaos] ${total} runs over ${keys.length} queues; ${checks.kills} reconciler kills; ${checks.samples} state samples; ` +
        `${checks.fifoPairs} FIFO pairs; ${checks.slotChecks} slot-vs-finished checks; max running ${maxRunning}; ` +
        `${violations.length} violations\n`,
    );
    expect(violations).toEqual([]);
  });
});
