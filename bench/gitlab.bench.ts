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
import { startLineageProcess } from "../test/e2e/support/lineage-process.ts";
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

export async function benchGitLab(env: BenchEnvironment, print: (line: string) => void): Promise<void> {
  const kc = env.kubeConfig;
  const namespace = "bench-gitlab";
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { bench: "gitlab" } } } });
  const gitlab = await new FakeGitLab().start();
  gitlab.model.addProject(benchProject, "demo/demo-repo");
  gitlab.model.addToken("glpat-bench", "tekton-lineage-bot");
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
  ];
  const lineage = await startLineageProcess(env, { role: "all", args, logLevel: "info" });
  const unregister = await registerWebhooksByUrl(kc, {
    name: "tekton-lineage-bench-gitlab",
    baseUrl: `https://127.0.0.1:${lineage.port}`,
    caPem: readFileSync(join(env.certDir, "ca.crt"), "utf8"),
    namespaceLabels: { bench: "gitlab" },
    mutatingFailurePolicy: "Fail",
  });
  const api = kc.makeApiClient(CustomObjectsApi);
  let latencies: ReportLatencies;
  try {
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
      const before = gitlab.requests.length;
      latencies = await measureReports(api, gitlab, namespace, attempts);
      printRequests(gitlab.requests.slice(before), print);
    } finally {
      await unregister();
      await lineage.stop();
    }
    // The floor, with tekton-lineage stopped: the same runs reported by a bare watch.
    const floor = await reportFloor(env, core, api, gitlab, attempts);
    const ours = summarize(latencies.fromRequest);
    const base = summarize(floor.fromRequest);
    const verdict = ours.p99 < 300 ? "target met (p99 < 300 ms)" : "TARGET MISSED (p99 >= 300 ms)";
    print(
      `condition change → GitLab status: p50 ${ms(ours.p50)}, p90 ${ms(ours.p90)}, p99 ${ms(ours.p99)}, max ${ms(ours.max)} over ${ours.count} changes: ${verdict}`,
    );
    print(
      `  floor (a bare watch posting each change, nothing else): p50 ${ms(base.p50)}, p99 ${ms(base.p99)}; tekton-lineage / floor: p50 ${(ours.p50 / base.p50).toFixed(2)}x, p99 ${(ours.p99 / base.p99).toFixed(2)}x`,
    );
    const answer = summarize(latencies.fromAnswer);
    const baseAnswer = summarize(floor.fromAnswer);
    print(
      `  from the condition write's answer: p50 ${ms(answer.p50)}, p99 ${ms(answer.p99)} (floor p50 ${ms(baseAnswer.p50)}, p99 ${ms(baseAnswer.p99)})`,
    );
  } finally {
    await gitlab.stop();
  }
}

/** GitLab requests per attempt, counted until each attempt's end was shown, and over its whole life. */
function printRequests(all: readonly RecordedRequest[], print: (line: string) => void): void {
  // An attempt's own requests are its statuses' reads and writes; what a Repository's project is, is
  // asked once for all of its lineages and kept ten minutes (gitlab/status/project-check.ts).
  const requests = all.filter((r) => /\/statuses(\/|$)/.test(r.path));
  const lookups = all.length - requests.length;
  print(`${attempts} attempts (running, then success or failure), 10 at a time`);
  const perAttempt = requests.length / attempts;
  const gets = requests.filter((r) => r.method === "GET").length / attempts;
  const posts = requests.filter((r) => r.method === "POST").length / attempts;
  const ok = perAttempt <= 3 ? "target met (<= 3)" : "TARGET MISSED (> 3)";
  print(
    `GitLab requests per attempt: ${perAttempt.toFixed(2)} (GET ${gets.toFixed(2)}, POST ${posts.toFixed(2)}): ${ok}; besides, ${lookups} lookup(s) of the Repository's project for all ${attempts} attempts`,
  );
  // Not all of an attempt's requests fall in this window: say what comes after it (gitlab/status/
  // lineage-memory.ts): two resyncs once done and, where PaC reports the run, one read when it has.
  // The reads at readsAfterRunEnded are taken only for runs PaC may report wrongly (none here).
  const lifetime = posts + 1 + 2;
  print(
    `  counted until each end was reported; after it come two reads a --gitlab-resync apart: ${lifetime.toFixed(2)} requests over an attempt's whole life (${(lifetime + 1).toFixed(2)} where PaC reports the run: one read once it has; an attempt a newer one supersedes adds reads at ${readsAfterRunEnded.map((t) => `${t / 1000}`).join(", ")} s)`,
  );
}
