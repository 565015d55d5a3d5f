/**
 * /mutate over HTTPS on loopback, at 200 and 1000 reviews/s (open loop, 50 lineages), against the local
 * API server, beside two servers measured in the same run on the same certificate: a no-op HTTPS
 * handler, and the floor (bench/floor-server.ts: the one compare-and-swap Lease write per review, or
 * per batch, that a correct /mutate cannot avoid, with the same client and group commit). Prints
 * p50/p90/p99/max, CPU per review of the server and the API server, the mutate/floor and mutate/no-op
 * ratios, Lease writes per review, and `mutate/floor p99 at 200/s: <ratio>x`.
 * Target: at 200/s p99 <= 2x the floor's and < 10 ms; at 1000/s p99 below the 3 s in-process deadline.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startLineageProcess } from "../test/e2e/support/lineage-process.ts";
import { cpuSeconds } from "./lib/cpu.ts";
import type { BenchEnvironment } from "./lib/environment.ts";
import { openLoop } from "./lib/open-loop.ts";
import { ms, summarize } from "./lib/stats.ts";

const lineages = 50;
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 10_000);
const maxSockets = Number(process.env.BENCH_MAX_SOCKETS ?? 256);
const rates = (process.env.BENCH_RATES ?? "200,1000").split(",").map(Number);

/** NODE_OPTIONS for the webhook, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it. */
const webhookNodeOptions = process.env.BENCH_WEBHOOK_NODE_OPTIONS;

function review(i: number): string {
  const lineage = i % lineages;
  const sha = `${lineage.toString(16).padStart(8, "0")}${"0".repeat(32)}`;
  const pac = {
    "pipelinesascode.tekton.dev/repository": "bench-repo",
    "pipelinesascode.tekton.dev/sha": sha,
    "pipelinesascode.tekton.dev/original-prname": "build",
    "pipelinesascode.tekton.dev/pull-request": "7",
  };
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: randomUUID(),
      kind: { group: "tekton.dev", version: "v1", kind: "PipelineRun" },
      resource: { group: "tekton.dev", version: "v1", resource: "pipelineruns" },
      namespace: "bench",
      operation: "CREATE",
      userInfo: { username: "system:serviceaccount:pipelines-as-code:pipelines-as-code-controller" },
      object: {
        apiVersion: "tekton.dev/v1",
        kind: "PipelineRun",
        metadata: { generateName: "build-", namespace: "bench", labels: pac, annotations: pac },
        spec: { pipelineRef: { name: "build" } },
      },
      dryRun: false,
    },
  });
}

/** A helper server (no-op or floor) in a process of its own, on the same certificate. */
async function startHelper(
  script: string,
  args: string[],
): Promise<{ port: number; pid: number; stop(): void }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once("data", (chunk: Buffer) => resolve(JSON.parse(String(chunk)).port));
    child.once("exit", () => reject(new Error(`${script} exited`)));
  });
  return { port, pid: child.pid ?? 0, stop: () => child.kill("SIGTERM") };
}

/** Lease writes the process sent (creates and replaces), from its request counter. */
async function leaseWrites(process: {
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}) {
  const metric = "tekton_lineage_api_requests_total";
  return (
    (await process.metric(metric, { method: "PUT", resource: "leases" })) +
    (await process.metric(metric, { method: "POST", resource: "leases" }))
  );
}

export async function benchMutate(env: BenchEnvironment, print: (line: string) => void): Promise<void> {
  const ca = readFileSync(join(env.certDir, "ca.crt"), "utf8");
  const tls = [join(env.certDir, "tls.crt"), join(env.certDir, "tls.key")];
  const webhook = await startLineageProcess(env, {
    role: "webhook",
    logLevel: "info",
    env: webhookNodeOptions ? { NODE_OPTIONS: webhookNodeOptions } : {},
  });

  const noop = await startHelper("./noop-server.ts", tls);
  const floor = await startHelper("./floor-server.ts", [...tls, env.kubeconfig, "default"]);
  const servers = [
    { label: "no-op", url: `https://127.0.0.1:${noop.port}/`, pid: noop.pid },
    { label: "floor", url: `https://127.0.0.1:${floor.port}/`, pid: floor.pid },
    { label: "mutate", url: `${webhook.url}/mutate`, pid: webhook.pid },
  ];
  try {
    // Warm up each: connections, JIT, and a first Lease per lineage.
    for (const server of servers)
      await openLoop({ url: server.url, ca, ratePerSecond: 100, durationMs: 2000, body: review });
    print(
      `/mutate vs a no-op HTTPS handler and the floor (one compare-and-swap Lease write per review, same client), ${lineages} lineages, ${durationMs / 1000}s per rate, open loop`,
    );
    print(
      "rate/s  server   count   p50        p90        p99        max        errors  CPU per review: server / API server",
    );
    const measure = async (server: (typeof servers)[number], rate: number) => {
      const cpuBefore = { server: cpuSeconds(server.pid), api: cpuSeconds(env.apiServerPid) };
      const writesBefore = server.label === "mutate" ? await leaseWrites(webhook) : 0;
      // The API server opens a connection per concurrent call over HTTP/1.1 and keeps some alive; 256
      // lets latency grow into connections rather than a client-side line, without a handshake per call.
      const result = await openLoop({
        url: server.url,
        ca,
        ratePerSecond: rate,
        durationMs,
        body: review,
        maxSockets,
      });
      const s = summarize(result.latencies);
      const cpu = {
        server: ((cpuSeconds(server.pid) - cpuBefore.server) / s.count) * 1e6,
        api: ((cpuSeconds(env.apiServerPid) - cpuBefore.api) / s.count) * 1e6,
      };
      const writes = server.label === "mutate" ? ((await leaseWrites(webhook)) - writesBefore) / s.count : 0;
      const bad =
        result.errors +
        Object.entries(result.statuses)
          .filter(([k]) => k !== "200")
          .reduce((n, [, v]) => n + v, 0);
      print(
        `${String(rate).padEnd(7)} ${server.label.padEnd(8)} ${String(s.count).padEnd(7)} ${ms(s.p50).padEnd(10)} ${ms(s.p90).padEnd(10)} ${ms(s.p99).padEnd(10)} ${ms(s.max).padEnd(10)} ${String(bad).padEnd(7)} ${cpu.server.toFixed(0)} µs / ${cpu.api.toFixed(0)} µs`,
      );
      return { s, writes };
    };
    for (const rate of rates) {
      // This machine is shared and noisy: at 200/s the three servers are measured in interleaved rounds
      // and compared on the median of their rounds' percentiles.
      const rounds = rate === 200 ? Number(process.env.BENCH_ROUNDS ?? 3) : 1;
      const p50s = new Map<string, number[]>();
      const p99s = new Map<string, number[]>();
      let writesPerReview = 0;
      for (let round = 0; round < rounds; round++) {
        for (const server of servers) {
          const { s, writes } = await measure(server, rate);
          if (server.label === "mutate") writesPerReview = writes;
          p50s.set(server.label, [...(p50s.get(server.label) ?? []), s.p50]);
          p99s.set(server.label, [...(p99s.get(server.label) ?? []), s.p99]);
        }
      }
      const at = (m: Map<string, number[]>, label: string) => median(m.get(label) ?? []);
      const [p50, p99] = [(l: string) => at(p50s, l), (l: string) => at(p99s, l)];
      const of = rounds > 1 ? ` (medians of ${rounds} rounds)` : "";
      print(
        `        ratio mutate/floor: p50 ${(p50("mutate") / p50("floor")).toFixed(1)}x, p99 ${(p99("mutate") / p99("floor")).toFixed(1)}x; mutate/no-op: p50 ${(p50("mutate") / p50("no-op")).toFixed(1)}x, p99 ${(p99("mutate") / p99("no-op")).toFixed(1)}x${of}; Lease writes per review ${writesPerReview.toFixed(2)}`,
      );
      if (rate === 200) {
        print(`mutate/floor p99 at 200/s: ${(p99("mutate") / p99("floor")).toFixed(2)}x`);
        const met = p99("mutate") <= 2 * p99("floor") && p99("mutate") < 10;
        print(
          `        ${met ? "target met" : "TARGET MISSED"}: p99 ${ms(p99("mutate"))} vs the floor's ${ms(p99("floor"))} (target: <= 2x the floor's and < 10 ms)`,
        );
      }
    }
    const fallbacks = await webhook.metric("tekton_lineage_admission_reviews_total", { outcome: "fallback" });
    const shed = await webhook.metric("tekton_lineage_attempts_shed_total");
    const refused = await webhook.metric("tekton_lineage_admission_shed_total");
    const conflicts = await webhook.metric("tekton_lineage_lease_conflicts_total");
    const allocated = await webhook.metric("tekton_lineage_attempts_allocated_total");
    // The webhook's own view (from receiving a review to answering it), to tell its time from the wire's.
    const histogram = "tekton_lineage_admission_duration_seconds_bucket";
    const served = await webhook.metric(histogram, { path: "/mutate", le: "+Inf" });
    const within = async (le: string) =>
      `${(((await webhook.metric(histogram, { path: "/mutate", le })) / served) * 100).toFixed(1)}%`;
    print(
      `        inside the webhook: ${await within("0.01")} of reviews answered within 10 ms, ${await within("0.05")} within 50 ms, ${await within("0.25")} within 250 ms`,
    );

    print(
      `        attempts allocated ${allocated}, Lease conflicts ${conflicts}, fallbacks ${fallbacks} (of which shed at once: ${shed}), refused unread (429): ${refused}`,
    );
  } finally {
    noop.stop();
    floor.stop();
    await webhook.stop();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
