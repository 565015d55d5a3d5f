/**
 * GitLab reporting: the time from a PipelineRun condition change (written as Tekton writes it) to the
 * GitLab status update that reflects it, p50/p99, and GitLab requests per attempt when nothing drifts.
 * Targets: p99 under 300 ms on loopback; at most 3 requests per attempt (a read, running, the end). The
 * latency is printed beside a floor measured in the same run (gitlab-floor.ts).
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import type { PipelineRun } from "../src/core/tekton.ts";
import { pipelineRunResource } from "../src/core/tekton.ts";
import { readsAfterRunEnded } from "../src/gitlab/status/lineage-memory.ts";
import { registerWebhooksByUrl } from "../test/e2e/controlplane/register-webhooks.ts";
import { type LineageProcess, startLineageProcess } from "../test/e2e/support/lineage-process.ts";
import { pacPipelineRun } from "../test/e2e/support/pipelineruns.ts";
import { eventually } from "../test/e2e/support/poll.ts";
import { createRepository } from "../test/e2e/support/repositories.ts";
import { grantRepositoryTokens } from "../test/e2e/support/repository-tokens.ts";
import { FakeGitLab, type RecordedRequest } from "../test/fakes/gitlab/server.ts";
import { reportFloor } from "./gitlab-floor.ts";
import type { BenchEnvironment } from "./lib/environment.ts";
import { benchProject, measureReports, type ReportLatencies } from "./lib/reports.ts";
import { ms, summarize } from "./lib/stats.ts";

const attempts = Number(process.env.BENCH_GITLAB_ATTEMPTS ?? 150);
/** Attempts followed over their whole life, with resyncs a few seconds apart. */
const lifetimeAttempts = 20;

export async function benchGitLab(env: BenchEnvironment, print: (line: string) => void): Promise<void> {
  const kc = env.kubeConfig;
  const core = kc.makeApiClient(CoreV1Api);
  const api = kc.makeApiClient(CustomObjectsApi);
  const gitlab = await new FakeGitLab().start();
  gitlab.model.addProject(benchProject, "demo/demo-repo");
  gitlab.model.addToken("glpat-bench", "tekton-lineage-bot");
  try {
    let latencies: ReportLatencies | undefined;
    await withLineage(env, gitlab, "bench-gitlab", [], async () => {
      const before = gitlab.requests.length;
      latencies = await measureReports(api, gitlab, "bench-gitlab", attempts);
      printRequests(gitlab.requests.slice(before), print);
    });
    // The floor, with tekton-lineage stopped: the same runs reported by a bare watch.
    const floor = await reportFloor(env, core, api, gitlab, attempts);
    const ours = summarize(latencies?.fromRequest ?? []);
    const base = summarize(floor.fromRequest);
    const verdict = ours.p99 < 300 ? "target met (p99 < 300 ms)" : "TARGET MISSED (p99 >= 300 ms)";
    print(
      `condition change → GitLab status: p50 ${ms(ours.p50)}, p90 ${ms(ours.p90)}, p99 ${ms(ours.p99)}, max ${ms(ours.max)} over ${ours.count} changes: ${verdict}`,
    );
    print(
      `  floor (a bare watch posting each change, nothing else): p50 ${ms(base.p50)}, p99 ${ms(base.p99)}; tekton-lineage / floor: p50 ${(ours.p50 / base.p50).toFixed(2)}x, p99 ${(ours.p99 / base.p99).toFixed(2)}x`,
    );
    const answer = summarize(latencies?.fromAnswer ?? []);
    const baseAnswer = summarize(floor.fromAnswer);
    print(
      `  from the condition write's answer: p50 ${ms(answer.p50)}, p99 ${ms(answer.p99)} (floor p50 ${ms(baseAnswer.p50)}, p99 ${ms(baseAnswer.p99)})`,
    );
    await benchLifetime(env, gitlab, print);
  } finally {
    await gitlab.stop();
  }
}

/**
 * An attempt's whole life, measured: tekton-lineage with resyncs seconds apart (--gitlab-resync 1s, the
 * informers' --resync 2s) reports `lifetimeAttempts` attempts; once every lineage is quiet (its gauge),
 * the GitLab requests so far are its whole life, and three informer resyncs later (counted by the gitlab
 * controller's reconciles) there must be none more.
 */
async function benchLifetime(env: BenchEnvironment, gitlab: FakeGitLab, print: (line: string) => void) {
  const namespace = "bench-gitlab-life";
  const api = env.kubeConfig.makeApiClient(CustomObjectsApi);
  const args = ["--gitlab-resync=1s", "--resync=2s"];
  await withLineage(env, gitlab, namespace, args, async (lineage) => {
    const before = gitlab.requests.length;
    await measureReports(api, gitlab, namespace, lifetimeAttempts);
    await eventually(
      "every lineage quiet",
      async () => (await lineage.metric("tekton_lineage_gitlab_quiet_lineages")) === lifetimeAttempts,
      { timeoutMs: 60_000 },
    );
    const life = statusRequests(gitlab.requests.slice(before)).length;
    const reconciles = () => lineage.metric("tekton_lineage_reconcile_total", { controller: "gitlab" });
    const quietFrom = await reconciles();
    const seen = gitlab.requests.length;
    await eventually(
      "three informer resyncs to hand every lineage over",
      async () => (await reconciles()) >= quietFrom + 3 * lifetimeAttempts,
      { timeoutMs: 60_000 },
    );
    const afterQuiet = statusRequests(gitlab.requests.slice(seen)).length;
    print(
      `over an attempt's whole life (${lifetimeAttempts} attempts, --gitlab-resync 1s, --resync 2s): ${(life / lifetimeAttempts).toFixed(2)} GitLab requests, then ${afterQuiet} over three resyncs of every quiet lineage: ${afterQuiet === 0 ? "none, as it should" : "READ AGAIN WITHOUT A CHANGE"} (where PaC reports the run, one read more once it has; an attempt a newer one supersedes adds reads at ${readsAfterRunEnded.map((t) => `${t / 1000}`).join(", ")} s)`,
    );
  });
}

/** A namespace of merge-request runs reported by one tekton-lineage process (`args` added), for `work`. */
async function withLineage(
  env: BenchEnvironment,
  gitlab: FakeGitLab,
  namespace: string,
  extraArgs: string[],
  work: (lineage: LineageProcess) => Promise<void>,
): Promise<void> {
  const kc = env.kubeConfig;
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { bench: namespace } } } });
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: "gitlab-token" }, stringData: { token: "glpat-bench" } },
  });
  await grantRepositoryTokens(kc, namespace);
  await createRepository(kc, {
    namespace,
    name: "demo-repo",
    gitProvider: { url: gitlab.url, type: "gitlab", secret: { name: "gitlab-token", key: "token" } },
  });
  const args = [
    `--watch-namespaces=${namespace}`,
    "--trusted-users=admin",
    "--console-url=https://console.example/ns/{{ namespace }}/pipelinerun/{{ pr }}",
    `--gitlab-hosts=${new URL(gitlab.url).host}`,
    `--leader-election-id=${namespace}`,
    ...extraArgs,
  ];
  const lineage = await startLineageProcess(env, { role: "all", args, logLevel: "info" });
  const unregister = await registerWebhooksByUrl(kc, {
    name: `tekton-lineage-${namespace}`,
    baseUrl: `https://127.0.0.1:${lineage.port}`,
    caPem: readFileSync(join(env.certDir, "ca.crt"), "utf8"),
    namespaceLabels: { bench: namespace },
    mutatingFailurePolicy: "Fail",
  });
  const api = kc.makeApiClient(CustomObjectsApi);
  try {
    await eventually("the webhook to serve the bench namespace", async () => {
      gitlab.model.addCommit(benchProject, "0".repeat(40), "feature/login");
      const probe = (await api.createNamespacedCustomObject({
        ...pipelineRunResource,
        namespace,
        body: pacPipelineRun({ namespace, sha: "0".repeat(40), repository: "demo-repo" }),
        dryRun: "All",
      })) as PipelineRun;
      return probe.metadata.annotations?.["tekton-lineage.io/attempt"] !== undefined;
    });
    await work(lineage);
  } finally {
    await unregister();
    await lineage.stop();
  }
}

/** An attempt's own requests: its statuses' reads and writes (not the lookups of the project). */
function statusRequests(requests: readonly RecordedRequest[]): RecordedRequest[] {
  return requests.filter((r) => /\/statuses(\/|$)/.test(r.path));
}

/** GitLab requests per attempt, counted until each attempt's end was shown. */
function printRequests(all: readonly RecordedRequest[], print: (line: string) => void): void {
  // What a Repository's project is, is asked once for all of its lineages and kept ten minutes
  // (gitlab/status/project-check.ts).
  const requests = statusRequests(all);
  const lookups = all.length - requests.length;
  print(`${attempts} attempts (running, then success or failure), 10 at a time`);
  const perAttempt = requests.length / attempts;
  const gets = requests.filter((r) => r.method === "GET").length / attempts;
  const posts = requests.filter((r) => r.method === "POST").length / attempts;
  const ok = perAttempt <= 3 ? "target met (<= 3)" : "TARGET MISSED (> 3)";
  print(
    `GitLab requests per attempt: ${perAttempt.toFixed(2)} (GET ${gets.toFixed(2)}, POST ${posts.toFixed(2)}): ${ok}; besides, ${lookups} lookup(s) of the Repository's project for all ${attempts} attempts`,
  );
}
