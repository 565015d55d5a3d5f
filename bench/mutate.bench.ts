/**
 * /mutate over HTTPS on loopback, at 200 and 1000 reviews/s, against the local API server (every review
 * allocates an attempt: a Lease write), next to a no-op HTTPS handler on the same certificate measured
 * in the same run. Prints p50/p90/p99/max and the ratio of p99s. Target: p99 under 10 ms at 200/s.
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
import { ms, type Summary, summarize } from "./lib/stats.ts";

const lineages = 50;
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 10_000);

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

async function startNoop(env: BenchEnvironment): Promise<{ port: number; pid: number; stop(): void }> {
  const script = fileURLToPath(new URL("./noop-server.ts", import.meta.url));
  const child = spawn(
    process.execPath,
    [script, join(env.certDir, "tls.crt"), join(env.certDir, "tls.key")],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once("data", (chunk: Buffer) => resolve(JSON.parse(String(chunk)).port));
    child.once("exit", () => reject(new Error("no-op server exited")));
  });
  return { port, pid: child.pid ?? 0, stop: () => child.kill("SIGTERM") };
}

export async function benchMutate(env: BenchEnvironment, print: (line: string) => void): Promise<void> {
  const ca = readFileSync(join(env.certDir, "ca.crt"), "utf8");
  const webhook = await startLineageProcess(env, { role: "webhook", logLevel: "info" });
  const noop = await startNoop(env);
  try {
    // Warm up both: connections, JIT, and a first Lease per lineage.
    await openLoop({ url: `${webhook.url}/mutate`, ca, ratePerSecond: 100, durationMs: 2000, body: review });
    await openLoop({
      url: `https://127.0.0.1:${noop.port}/`,
      ca,
      ratePerSecond: 100,
      durationMs: 1000,
      body: review,
    });
    print(
      `/mutate vs a no-op HTTPS handler, ${lineages} lineages, ${durationMs / 1000}s per rate, open loop`,
    );
    print(
      "rate/s  server   count   p50        p90        p99        max        errors  CPU per review: server / API server",
    );
    for (const rate of [200, 1000]) {
      const rows: [string, Summary][] = [];
      for (const [label, url] of [
        ["no-op", `https://127.0.0.1:${noop.port}/`],
        ["mutate", `${webhook.url}/mutate`],
      ] as const) {
        const pid = label === "mutate" ? webhook.pid : noop.pid;
        const cpuBefore = { server: cpuSeconds(pid), api: cpuSeconds(env.apiServerPid) };
        const result = await openLoop({ url, ca, ratePerSecond: rate, durationMs, body: review });
        const s = summarize(result.latencies);
        const cpu = {
          server: ((cpuSeconds(pid) - cpuBefore.server) / s.count) * 1e6,
          api: ((cpuSeconds(env.apiServerPid) - cpuBefore.api) / s.count) * 1e6,
        };
        rows.push([label, s]);
        const bad =
          result.errors +
          Object.entries(result.statuses)
            .filter(([k]) => k !== "200")
            .reduce((n, [, v]) => n + v, 0);
        print(
          `${String(rate).padEnd(7)} ${label.padEnd(8)} ${String(s.count).padEnd(7)} ${ms(s.p50).padEnd(10)} ${ms(s.p90).padEnd(10)} ${ms(s.p99).padEnd(10)} ${ms(s.max).padEnd(10)} ${String(bad).padEnd(7)} ${cpu.server.toFixed(0)} µs / ${cpu.api.toFixed(0)} µs`,
        );
      }
      const [noopRow, mutateRow] = rows.map(([, s]) => s);
      if (noopRow && mutateRow) {
        const verdict =
          rate === 200
            ? mutateRow.p99 < 10
              ? "target met (p99 < 10 ms)"
              : "TARGET MISSED (p99 >= 10 ms)"
            : "";
        print(
          `        ratio mutate/no-op: p50 ${(mutateRow.p50 / noopRow.p50).toFixed(1)}x, p99 ${(mutateRow.p99 / noopRow.p99).toFixed(1)}x ${verdict}`,
        );
      }
    }
    const fallbacks = await webhook.metric("tekton_lineage_admission_reviews_total", { outcome: "fallback" });
    const conflicts = await webhook.metric("tekton_lineage_lease_conflicts_total");
    const allocated = await webhook.metric("tekton_lineage_attempts_allocated_total");
    print(`        attempts allocated ${allocated}, Lease conflicts ${conflicts}, fallbacks ${fallbacks}`);
  } finally {
    noop.stop();
    await webhook.stop();
  }
}
