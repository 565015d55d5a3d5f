import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeGitLab } from "../fakes/gitlab/server.ts";
import { adminKubeConfig } from "./support/context.ts";
import { gitProviderOf, newCommit, shownWhen, startFakeGitLab } from "./support/gitlab.ts";
import { pacPipelineRun, pipelineRuns } from "./support/pipelineruns.ts";
import { eventually } from "./support/poll.ts";
import { createRepository } from "./support/repositories.ts";
import { createSuite } from "./support/suite.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";
import { TektonSimulator } from "./support/tekton-simulator.ts";
import { type RegisteredWebhooks, registerAndServe } from "./support/webhooks.ts";

/**
 * GitLab is read for a lineage while something may still move its status, and then no more: not on the
 * informers' periodic resync, and not after a restart (or on a bucket's next owner) — the lineage's
 * quiet mark, kept on its attempt counter, says it is settled and unchanged. Real processes, the real
 * API server, the fake GitLab counting every request.
 */
const suite = createSuite("gitlab-quiet");
const admin = adminKubeConfig();
const runs = pipelineRuns(admin);
const lineages = 3;
let namespace: string;
let gitlab: FakeGitLab;
let lineage: LineageProcess;
let webhooks: RegisteredWebhooks;
let tekton: TektonSimulator;
let args: string[];

const statusRequests = () => gitlab.count("GET", /statuses/) + gitlab.count("POST", /statuses/);
const quiet = (process: LineageProcess) => process.metric("tekton_lineage_gitlab_quiet_lineages");
const gitlabReconciles = (process: LineageProcess) =>
  process.metric("tekton_lineage_reconcile_total", { controller: "gitlab" });

/** tekton-lineage (webhook and reconciler) serving the suite's namespace. */
async function startLineage(): Promise<void> {
  lineage = await startTektonLineage({ role: "all", args });
  webhooks = await registerAndServe({
    suite: suite.id,
    port: lineage.port,
    mutatingFailurePolicy: "Fail",
    namespace,
    processes: lineage,
  });
}

beforeAll(async () => {
  namespace = await suite.namespace("runs");
  gitlab = await startFakeGitLab(namespace);
  await createRepository(admin, { namespace, name: "demo-repo", gitProvider: gitProviderOf(gitlab) });
  args = [
    `--watch-namespaces=${namespace}`,
    "--gitlab-resync=1s",
    "--resync=2s",
    `--gitlab-hosts=${new URL(gitlab.url).host}`,
  ];
  await startLineage();
  tekton = new TektonSimulator(admin, [namespace], () => ({ durationMs: 200, succeeded: true }));
  await tekton.start();
});

afterAll(async () => {
  tekton?.stop();
  await webhooks?.remove();
  await lineage?.stop();
  await gitlab?.stop();
  await suite.cleanup();
});

describe("a settled lineage", () => {
  it("is read no more on the informers' resyncs, nor after a restart", async () => {
    for (let i = 0; i < lineages; i++) {
      const sha = newCommit(gitlab);
      await runs.create(pacPipelineRun({ namespace, sha, repository: "demo-repo" }));
      await shownWhen(gitlab, "the run's success", sha, (job) => job.status === "success", {
        context: "Pipelines as Code CI / build",
      });
    }
    await eventually("every lineage quiet", async () => (await quiet(lineage)) === lineages, {
      timeoutMs: 30_000,
    });
    // Three informer resyncs hand every lineage to the reporter again: nothing is read.
    const settled = statusRequests();
    const from = await gitlabReconciles(lineage);
    await eventually(
      "three resyncs of every lineage",
      async () => (await gitlabReconciles(lineage)) >= from + 3 * lineages,
      { timeoutMs: 30_000 },
    );
    expect(statusRequests()).toBe(settled);

    // A restart: the new process knows nothing, but each lineage's counter carries its quiet mark.
    await webhooks.remove();
    await lineage.stop();
    await startLineage();
    // A lineage it had to read would be counted quiet only after the read: so at three, all reads are in.
    await eventually("every lineage quiet again", async () => (await quiet(lineage)) === lineages, {
      timeoutMs: 30_000,
    });
    expect(statusRequests()).toBe(settled);
  });
});
