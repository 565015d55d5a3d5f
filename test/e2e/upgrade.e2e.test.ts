import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineRun } from "../../src/core/tekton.ts";
import type { FakeGitLab } from "../fakes/gitlab/server.ts";
import { adminKubeConfig } from "./support/context.ts";
import { gitProviderOf, newCommit, shown, startFakeGitLab } from "./support/gitlab.ts";
import { pacPipelineRun, pipelineRuns } from "./support/pipelineruns.ts";
import { eventually } from "./support/poll.ts";
import { previousRelease, previousReleaseMain } from "./support/previous-release.ts";
import { createRepository } from "./support/repositories.ts";
import { createSuite } from "./support/suite.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";
import { TektonSimulator } from "./support/tekton-simulator.ts";
import { type RegisteredWebhooks, registerAndServe } from "./support/webhooks.ts";

/**
 * A rolling upgrade from the previous release's code (built from this repository's history) to this
 * checkout's: runs it admitted and queued keep their place and start, in order, never two at once; the
 * new release admits into the same queue; GitLab ends on every commit's latest attempt. The version-skew
 * rule of CHANGELOG.md is what makes this hold.
 */
const suite = createSuite("upgrade");
const admin = adminKubeConfig();
const runs = pipelineRuns(admin);
let namespace: string;
let gitlab: FakeGitLab;
let tekton: TektonSimulator;
const processes: LineageProcess[] = [];
let webhooks: RegisteredWebhooks | undefined;

beforeAll(async () => {
  namespace = await suite.namespace("runs");
  gitlab = await startFakeGitLab(namespace);
  await createRepository(admin, {
    namespace,
    name: "demo-repo",
    annotations: { "tekton-lineage.io/queue": "enabled", "tekton-lineage.io/concurrency-limit": "1" },
    gitProvider: gitProviderOf(gitlab),
  });
  tekton = new TektonSimulator(admin, [namespace], () => ({ durationMs: 1500, succeeded: true }));
  await tekton.start();
});

afterAll(async () => {
  tekton?.stop();
  await webhooks?.remove();
  for (const p of processes) await p.stop();
  await gitlab?.stop();
  await suite.cleanup();
});

/** A replica of one release, serving the webhooks (as the Service would send them to it). */
async function replica(mainJs?: string): Promise<LineageProcess> {
  const started = await startTektonLineage({
    role: "all",
    mainJs,
    args: [
      `--watch-namespaces=${namespace}`,
      `--gitlab-hosts=${new URL(gitlab.url).host}`,
      `--leader-election-id=tl-upgrade-${process.pid}`,
      "--leader-lease-duration=3s",
      "--leader-renew-deadline=2s",
      "--leader-retry-period=500ms",
      "--gitlab-resync=2s",
    ],
  });
  processes.push(started);
  webhooks = await registerAndServe({
    suite: suite.id,
    port: started.port,
    mutatingFailurePolicy: "Fail",
    namespace,
    processes: started,
  });
  return started;
}

describe(`a rolling upgrade from ${previousRelease.name}`, () => {
  it("keeps runs in flight and queued across the switch, and GitLab ends on every latest attempt", async () => {
    const previous = await replica(previousReleaseMain());
    const create = async () => {
      const sha = newCommit(gitlab);
      const run = await runs.create(pacPipelineRun({ namespace, sha, repository: "demo-repo" }));
      return { sha, run };
    };
    const created: { sha: string; run: PipelineRun }[] = [];
    for (let i = 0; i < 4; i++) created.push(await create());
    const key = (r: PipelineRun) => `${namespace}/${r.metadata.name}`;
    await eventually("the previous release to start the first run", () => tekton.started.length >= 1);
    expect(created.slice(1).every((c) => c.run.spec?.status === "PipelineRunPending")).toBe(true);

    // The new release comes up beside it and takes the traffic; then the previous one stops, and the
    // leadership (the queue, the GitLab reports) passes to the new one.
    await replica();
    await processes[0]?.stop();
    processes.shift();
    expect(previous.pid).not.toBe(processes[0]?.pid);
    created.push(await create());

    await eventually("every run to finish", () => tekton.finished.length >= created.length, {
      timeoutMs: 60_000,
    });
    expect(tekton.started.map((s) => s.run)).toEqual(created.map((c) => key(c.run)));
    expect(tekton.mostRunningAtOnce()).toBe(1);
    for (const { sha, run } of created)
      await eventually(`GitLab to show ${run.metadata.name} succeeded`, async () => {
        const job = await shown(gitlab, sha, "Pipelines as Code CI / build");
        return job?.status === "success" && job.description === "attempt 1 succeeded";
      });
  });
});
