/**
 * The Lease client alone: in this one process, with the same group commit (LeaseBatcher) and the same
 * compare-and-swap, bump counters of 50 Leases at a fixed rate (open loop) through each client —
 * client-node's CoordinationV1Api over PooledKubeConfig (ClientNodeLeaseStore, below) and the HTTP/2 JSON
 * client (kube/lease-http.ts HttpLeaseStore) — in interleaved rounds, and print p50/p99, the CPU this
 * process spent per bump, and the ratios http2/client-node. Decides whether HttpLeaseStore pays for
 * itself (issue #23: keep it only if it does, and then everywhere).
 */

import { CoordinationV1Api, type KubeConfig, type V1Lease } from "@kubernetes/client-node";
import { apiFailure } from "../src/kube/api-errors.ts";
import { loadKubeConfig } from "../src/kube/kubeconfig.ts";
import { LeaseBatcher } from "../src/kube/lease-batcher.ts";
import { HttpLeaseStore } from "../src/kube/lease-http.ts";
import type { LeaseAccess } from "../src/kube/leases.ts";
import type { BenchEnvironment } from "./lib/environment.ts";
import { ms, summarize } from "./lib/stats.ts";

const leases = 50;
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 6_000);
const rates = (process.env.BENCH_LEASE_RATES ?? "200,1000").split(",").map(Number);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

interface Round {
  p50: number;
  p99: number;
  cpuUsPerBump: number;
  errors: number;
}

/** Bumps at `rate`/s for durationMs through `store`; latency from when each bump was due. */
async function round(store: LeaseAccess, rate: number, prefix: string): Promise<Round> {
  const counters = new LeaseBatcher<null, number>({
    store,
    plan(current, requests, name) {
      const last = Number(current?.metadata?.annotations?.["bench/last"] ?? 0);
      return {
        lease: {
          metadata: {
            ...current?.metadata,
            name,
            annotations: { ...current?.metadata?.annotations, "bench/last": String(last + requests.length) },
          },
          spec: current?.spec ?? {},
        },
        results: requests.map((_, i) => last + i + 1),
      };
    },
  });
  const total = Math.round((rate * durationMs) / 1000);
  const latencies: number[] = [];
  let errors = 0;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const from = Math.min(due, performance.now());
    inFlight.push(
      counters.submit(`${prefix}-${i % leases}`, null, AbortSignal.timeout(10_000)).then(
        () => {
          latencies.push(performance.now() - from);
        },
        () => {
          errors += 1;
        },
      ),
    );
  }
  await Promise.all(inFlight);
  const cpu = process.cpuUsage(cpuBefore);
  const summary = summarize(latencies);
  return { p50: summary.p50, p99: summary.p99, cpuUsPerBump: (cpu.user + cpu.system) / total, errors };
}

/**
 * The same Lease access through client-node's generated CoordinationV1Api (over PooledKubeConfig): the
 * reference HttpLeaseStore is measured against. tekton-lineage itself uses HttpLeaseStore only.
 */
class ClientNodeLeaseStore implements LeaseAccess {
  readonly namespace: string;
  private readonly api: CoordinationV1Api;

  constructor(kubeConfig: KubeConfig, namespace: string) {
    this.namespace = namespace;
    this.api = kubeConfig.makeApiClient(CoordinationV1Api);
  }

  async get(name: string): Promise<V1Lease | undefined> {
    try {
      return await this.api.readNamespacedLease({ name, namespace: this.namespace });
    } catch (error) {
      if (apiFailure(error).code === 404) return undefined;
      throw error;
    }
  }

  create(lease: V1Lease): Promise<V1Lease> {
    return this.api.createNamespacedLease({ namespace: this.namespace, body: lease });
  }

  /** Replaces only if the stored resourceVersion is still the one in `lease` (409 otherwise). */
  replace(lease: V1Lease): Promise<V1Lease> {
    const name = lease.metadata?.name ?? "";
    return this.api.replaceNamespacedLease({ name, namespace: this.namespace, body: lease });
  }

  /** Deletes only if nobody wrote since `resourceVersion`; false when it changed or is gone. */
  async deleteIfUnchanged(name: string, resourceVersion: string): Promise<boolean> {
    try {
      await this.api.deleteNamespacedLease({
        name,
        namespace: this.namespace,
        body: { preconditions: { resourceVersion } },
      });
      return true;
    } catch (error) {
      const { code } = apiFailure(error);
      if (code === 404 || code === 409) return false;
      throw error;
    }
  }

  async list(labelSelector: string): Promise<V1Lease[]> {
    const list = await this.api.listNamespacedLease({ namespace: this.namespace, labelSelector });
    return list.items;
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

export async function benchLeaseClient(env: BenchEnvironment, print: (line: string) => void): Promise<void> {
  const namespace = "tekton-lineage";
  const clients: Record<string, LeaseAccess> = {
    "client-node": new ClientNodeLeaseStore(loadKubeConfig(env.kubeconfig), namespace),
    http2: new HttpLeaseStore(loadKubeConfig(env.kubeconfig), namespace),
  };
  print(`${leases} Leases, ${durationMs / 1000}s per round, ${rounds} interleaved rounds, medians`);
  print("rate   client       p50        p99        CPU/bump   errors");
  for (const rate of rates) {
    const results: Record<string, Round[]> = { "client-node": [], http2: [] };
    for (let r = 0; r < rounds; r++) {
      // Alternate which client goes first, so neither always meets a warmer or busier API server.
      const order = r % 2 === 0 ? ["client-node", "http2"] : ["http2", "client-node"];
      for (const name of order) {
        const store = clients[name];
        if (store) results[name]?.push(await round(store, rate, `bench-${name}-${rate}`));
      }
    }
    const med = (name: string, field: keyof Round) => median((results[name] ?? []).map((x) => x[field]));
    for (const name of ["client-node", "http2"])
      print(
        `${String(rate).padEnd(6)} ${name.padEnd(12)} ${ms(med(name, "p50")).padEnd(10)} ${ms(med(name, "p99")).padEnd(10)} ${`${med(name, "cpuUsPerBump").toFixed(0)} µs`.padEnd(10)} ${(results[name] ?? []).reduce((n, x) => n + x.errors, 0)}`,
      );
    print(
      `http2/client-node at ${rate}/s: p99 ${(med("http2", "p99") / med("client-node", "p99")).toFixed(2)}x, CPU per bump ${(med("http2", "cpuUsPerBump") / med("client-node", "cpuUsPerBump")).toFixed(2)}x`,
    );
  }
}
