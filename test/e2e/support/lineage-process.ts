import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { httpGet, httpsGet } from "./https-get.ts";
import { eventually } from "./poll.ts";
import { isAlive, type StartedProcess, startProcess, stopPid } from "./processes.ts";

const mainJs = fileURLToPath(new URL("../../../dist/main.js", import.meta.url));

/** Where a tekton-lineage process finds its certificates and cluster, and writes its log. */
export interface ProcessEnvironment {
  certDir: string;
  kubeconfig: string;
  logDir: string;
  /** Address the API server reaches webhooks at; anything but 127.0.0.1 makes the process listen on all. */
  webhookHost: string;
}

export interface LineageProcess {
  name: string;
  pid: number;
  /** The admission port (HTTPS: /mutate, /validate). */
  port: number;
  url: string;
  /** The operations port (plain HTTP: /healthz, /readyz, /metrics). */
  metricsPort: number;
  logFile: string;
  /** JSON log lines written so far. */
  logs(): Record<string, unknown>[];
  /** Current value of one metric (summed over matching samples), 0 when absent. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** A GET on the operations port. */
  get(path: string): Promise<{ status: number; body: string }>;
  /** SIGTERM and wait for exit (a graceful drain). */
  stop(): Promise<void>;
  /** SIGKILL: no drain, no cleanup. */
  kill(): Promise<void>;
}

let counter = 0;

export interface StartOptions {
  role: "webhook" | "reconciler" | "all";
  name?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  kubeconfig?: string;
  port?: number;
  waitReady?: boolean;
  /** How long readiness may take (a reconciler lists every run first); default 30 s. */
  readyTimeoutMs?: number;
  logLevel?: string;
  /** Another build's dist/main.js (the previous release, for the upgrade test); default this checkout's. */
  mainJs?: string;
  /** The CA to trust when talking to the process, when it is not the test CA (a certificate it made). */
  trust?: () => Promise<string>;
}

/** Starts `tekton-lineage <role>` from dist/ on a free loopback port and waits until it is ready. */
export async function startLineageProcess(
  environment: ProcessEnvironment,
  options: StartOptions,
): Promise<LineageProcess> {
  counter += 1;
  const name = options.name ?? `tl-${process.pid}-${counter}`;
  const logFile = join(environment.logDir, `${name}.log`);
  const host = environment.webhookHost === "127.0.0.1" ? "127.0.0.1" : "0.0.0.0";
  const started: StartedProcess = startProcess(
    process.execPath,
    [
      options.mainJs ?? mainJs,
      options.role,
      `--listen=${host}:${options.port ?? 0}`,
      "--metrics-listen=127.0.0.1:0",
      `--tls-cert=${join(environment.certDir, "tls.crt")}`,
      `--tls-key=${join(environment.certDir, "tls.key")}`,
      `--kubeconfig=${options.kubeconfig ?? environment.kubeconfig}`,
      `--instance-id=${name}`,
      "--drain-delay=0s",
      // A level the test's environment gives (as a ConfigMap would) is not overridden by a flag.
      ...(options.env?.TEKTON_LINEAGE_LOG_LEVEL ? [] : [`--log-level=${options.logLevel ?? "debug"}`]),
      ...(options.args ?? []),
    ],
    { logFile, env: { ...process.env, ...options.env } },
  );
  const testCa = readFileSync(join(environment.certDir, "ca.crt"), "utf8");
  const ca = options.trust ?? (async () => testCa);
  const logs = () =>
    readFileSync(logFile, "utf8")
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  let port: number;
  let metricsPort: number;
  const listening = (server: string) => logs().find((l) => l.msg === "listening" && l.server === server);
  try {
    [port, metricsPort] = await eventually(
      `${name} to listen`,
      () => {
        if (!isAlive(started.pid))
          throw new Error(`${name} exited:\n${readFileSync(logFile, "utf8").slice(-2000)}`);
        const admission = listening("admission");
        const metrics = listening("metrics");
        return admission && metrics ? [Number(admission.port), Number(metrics.port)] : undefined;
      },
      { timeoutMs: 20_000 },
    );
    if (options.waitReady ?? true) {
      await eventually(
        `${name} to be ready`,
        async () => (await httpGet(`http://127.0.0.1:${metricsPort}/readyz`)).status === 200,
        { timeoutMs: options.readyTimeoutMs ?? 30_000 },
      );
      // And the admission port serves a certificate the test trusts (any answer: only POSTs are routed).
      await eventually(`${name} to serve TLS`, async () => {
        await httpsGet(`https://127.0.0.1:${port}/`, { ca: await ca() });
        return true;
      });
    }
  } catch (error) {
    // Never leave a process behind that a test could not use.
    await stopPid(started.pid, 5_000);
    throw error;
  }
  const url = `https://127.0.0.1:${port}`;
  const get = (path: string) => httpGet(`http://127.0.0.1:${metricsPort}${path}`);
  return {
    name,
    pid: started.pid,
    port,
    url,
    metricsPort,
    logFile,
    logs,
    get,
    async metric(metricName, labels = {}) {
      const { body } = await get("/metrics");
      return sampleValue(body, metricName, labels);
    },
    stop: () => stopPid(started.pid, 30_000),
    async kill() {
      try {
        process.kill(started.pid, "SIGKILL");
      } catch {
        /* gone already */
      }
      await stopPid(started.pid, 5_000);
    },
  };
}

/** Reads one sample from Prometheus text format; labels must all match, extra labels are allowed. */
export function sampleValue(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries(
      [...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => present[k] === v)) total += Number(match[3]);
  }
  return total;
}
