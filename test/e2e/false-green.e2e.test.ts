import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDone, type PipelineRun, succeededCondition } from "../../src/core/tekton.ts";
import type { FakeGitLab } from "../fakes/gitlab/server.ts";
import type { StartResult } from "../fakes/pac/controller.ts";
import { type MergeRequest, PacEmulator } from "../fakes/pac/emulator.ts";
import { resolvedTemplate } from "../fakes/pac/labels.ts";
import type { PacVersion } from "../fakes/pac/versions.ts";
import { tektonLineageCli } from "./support/cli.ts";
import { adminKubeConfig } from "./support/context.ts";
import {
  gitlabToken,
  gitlabUser,
  gitProviderOf,
  type Job,
  newCommit,
  pipelinesOf,
  projectId,
  shownWhen as shownWhenIn,
  startFakeGitLab,
} from "./support/gitlab.ts";
import { GreenWatch, refusedAfterTektonLineage } from "./support/green-watch.ts";
import { pipelineRuns } from "./support/pipelineruns.ts";
import { eventually } from "./support/poll.ts";
import { createRepository } from "./support/repositories.ts";
import { createSuite } from "./support/suite.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";
import { TektonSimulator } from "./support/tekton-simulator.ts";
import { type RegisteredWebhooks, registerAndServe } from "./support/webhooks.ts";

/**
 * Never a false green (issue #20): whatever tekton-lineage cancels — a superseded attempt, a run that
 * waited too long in its queue, a queue cleared — Pipelines-as-Code's watcher must not post `success` for
 * it. PaC reports any run whose spec.status is Cancelled at once, and calls a run whose Succeeded condition
 * is still Unknown a success (core/pac-report.ts); it writes as the same GitLab user, so that success
 * lands on the latest attempt's open status. Each scenario runs on PaC v0.37 and v0.50 as emulated
 * (test/fakes/pac, versions.ts), with Tekton simulated as v1.6.0 behaves: a Pending run is
 * Unknown/PipelineRunPending, a cancel takes effect after a reconcile. A GreenWatch samples what the
 * merge request shows every 100 ms for the whole scenario and records any success while the latest
 * attempt of some pipeline had not succeeded. And tekton-lineage causes no merge-request note: PaC posts
 * no final status for a run tekton-lineage cancelled, and none of PaC's posts is refused because of a
 * status tekton-lineage wrote.
 */
const suite = createSuite("false-green");
const admin = adminKubeConfig();
const runs = pipelineRuns(admin);
const application = "Pipelines as Code CI";
const named = `${application} / build`;
const consoleRoot = "https://console.example";
const pacConfig = {
  "application-name": application,
  "custom-console-url": consoleRoot,
  "custom-console-url-pr-details": `${consoleRoot}/ns/{{ namespace }}/pipelinerun/{{ pr }}`,
};
const linkOf = (run: PipelineRun) => `${consoleRoot}/ns/${namespace}/pipelinerun/${run.metadata.name}`;
let namespace: string;
let gitlab: FakeGitLab;
let lineage: LineageProcess;
let webhooks: RegisteredWebhooks;
let tekton: TektonSimulator;
let pac: PacEmulator;

const versions: PacVersion[] = ["v0.37", "v0.50"];
let nextMergeRequest = 100;
/** Each Repository's own GitLab project: statuses go only there (the Repository decides, not the run). */
const projects: Record<string, number> = {
  "demo-repo": projectId,
  "timeout-repo": 1101,
  "cleared-repo": 1102,
};
const mr = (sha: string, repository: string): MergeRequest => ({
  namespace,
  repository,
  sha,
  number: nextMergeRequest++,
  sourceProjectId: projects[repository] ?? projectId,
  targetProjectId: projects[repository] ?? projectId,
});
/** A new commit of a Repository's project, with the merge request pipeline GitLab CI made for it. */
const commitIn = (repository: string) => {
  const sha = newCommit(gitlab, { ciPipeline: true });
  const project = projects[repository] ?? projectId;
  if (project !== projectId) gitlab.model.addPipeline(project, sha, `refs/merge-requests/42/head`);
  return sha;
};
const createdRun = (result: StartResult | undefined): PipelineRun => {
  if (!result || !("created" in result))
    throw new Error(`PaC did not create the run: ${JSON.stringify(result)}`);
  return result.created;
};
const fresh = (run: PipelineRun) => runs.get(namespace, run.metadata.name ?? "");
const endedCancelled = async (run: PipelineRun) => {
  const now = await fresh(run);
  return isDone(now) && succeededCondition(now)?.reason === "Cancelled";
};
/** PaC's watcher has read the run since it ended: anything it was going to post for it, it has decided. */
const pacSawEnd = (run: PipelineRun) =>
  eventually(`PaC's watcher to see ${run.metadata.name} ended`, () => {
    const read = pac.watcherRead(namespace, run.metadata.name ?? "");
    return read !== undefined && isDone(read);
  });

/** Waits until the status GitLab shows for the build pipeline of `sha` matches; says what it showed if not. */
const shownWhen = (what: string, sha: string, matches: (job: Job) => boolean, project = projectId) =>
  shownWhenIn(gitlab, what, sha, matches, { context: named, project });

function watch(sha: string, project = projectId): GreenWatch {
  return new GreenWatch({ gitlab, kubeConfig: admin, namespace, projectId: project, sha }).start();
}

/** The notes tekton-lineage would cause: PaC's final reports of runs it cancelled, PaC posts its writes refused. */
function causedNotes(sha: string, cancelled: readonly PipelineRun[]) {
  const names = new Set(cancelled.map((r) => `${namespace}/${r.metadata.name}`));
  return {
    pacReportsOfCancelled: pac.statuses.filter((c) => c.status === "completed" && names.has(c.run ?? "")),
    refused: refusedAfterTektonLineage(gitlab, sha),
  };
}

beforeAll(async () => {
  namespace = await suite.namespace("runs");
  gitlab = await startFakeGitLab(namespace);
  for (const [name, id] of Object.entries(projects))
    if (id !== projectId) gitlab.model.addProject(id, `demo/${name}`);
  gitlab.model.addToken(gitlabToken, gitlabUser, Object.values(projects));
  const gitProvider = gitProviderOf(gitlab);
  await createRepository(admin, { namespace, name: "demo-repo", gitProvider });
  // Opted in to tekton-lineage's queue: PaC sets no limit, so PaC creates its runs as they come.
  for (const [name, wait] of [
    ["timeout-repo", "2s"],
    ["cleared-repo", undefined],
  ] as const)
    await createRepository(admin, {
      namespace,
      name,
      gitProvider,
      annotations: {
        "tekton-lineage.io/queue": "enabled",
        "tekton-lineage.io/concurrency-limit": "1",
        ...(wait ? { "tekton-lineage.io/max-queue-wait": wait } : {}),
      },
    });
  await admin.makeApiClient(CoreV1Api).createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: "pipelines-as-code" }, data: pacConfig },
  });
  lineage = await startTektonLineage({
    role: "all",
    args: [
      `--watch-namespaces=${namespace}`,
      `--pac-namespace=${namespace}`,
      `--gitlab-hosts=${new URL(gitlab.url).host}`,
      "--gitlab-resync=1s",
      "--creation-grace=1500ms",
      "--queue-position-delay=100ms",
    ],
  });
  webhooks = await registerAndServe({
    suite: suite.id,
    port: lineage.port,
    mutatingFailurePolicy: "Fail",
    namespace,
    processes: lineage,
  });
  // Runs are held until the test ends them; a cancel takes Tekton a reconcile (300 ms) to carry out.
  tekton = new TektonSimulator(
    admin,
    [namespace],
    () => ({ durationMs: Number.POSITIVE_INFINITY, succeeded: true }),
    {
      cancelDelayMs: 300,
    },
  );
  await tekton.start();
  pac = await new PacEmulator({
    kubeConfig: admin,
    namespaces: [namespace],
    gitlabUrl: gitlab.url,
    version: "v0.50",
    config: pacConfig,
    pacNamespace: namespace,
    reportDelayMs: 100,
  }).start();
});

afterAll(async () => {
  await pac?.stop();
  tekton?.stop();
  await webhooks?.remove();
  await lineage?.stop();
  await gitlab?.stop();
  await suite.cleanup();
});

describe.each(versions)("with Pipelines-as-Code %s", (version) => {
  it("a superseded attempt, cancelled while it runs, never turns the merge request green", async () => {
    pac.version = version;
    const sha = newCommit(gitlab, { ciPipeline: true });
    const green = watch(sha);
    const template = resolvedTemplate("build", {
      annotations: { "pipelinesascode.tekton.dev/cancel-in-progress": "true" },
    });
    const request = mr(sha, "demo-repo");
    const first = createdRun((await pac.open(request, [template]))[0]);
    await eventually(
      "attempt 1 to run",
      async () => succeededCondition(await fresh(first))?.reason === "Running",
    );
    const second = createdRun((await pac.retest(request, [template]))[0]);
    expect(second.metadata.annotations?.["tekton-lineage.io/attempt"]).toBe("2");
    await eventually("attempt 1 cancelled", () => endedCancelled(first));
    await pacSawEnd(first);
    expect((await fresh(first)).metadata.annotations?.["pipelinesascode.tekton.dev/state"]).toBe("completed");
    await shownWhen(
      "attempt 2 running on GitLab",
      sha,
      (job) => job.status === "running" && job.target_url === linkOf(second),
    );
    await tekton.finishNow(namespace, second.metadata.name ?? "", { succeeded: true });
    await eventually("the merge request green", async () =>
      (await pipelinesOf(gitlab, sha)).every((p) => p.status === "success"),
    );
    await eventually("the watch to sample the green", () => green.greens > 0);
    await green.stop();
    expect(green.falseGreens).toEqual([]);
    expect(green.greens).toBeGreaterThan(0);
    expect(causedNotes(sha, [first])).toEqual({ pacReportsOfCancelled: [], refused: [] });
  });

  it("a push and a merge request of one commit share one status: the one admitted last owns it, the other never writes it", async () => {
    pac.version = version;
    const sha = newCommit(gitlab, { ciPipeline: true });
    const green = watch(sha);
    const request = mr(sha, "demo-repo");
    const pushed = createdRun((await pac.push(request, ["build"]))[0]);
    await shownWhen("the push's run on GitLab", sha, (job) => job.target_url === linkOf(pushed));
    const merged = createdRun((await pac.open(request, ["build"]))[0]);
    expect(merged.metadata.labels?.["tekton-lineage.io/lineage-id"]).not.toBe(
      pushed.metadata.labels?.["tekton-lineage.io/lineage-id"],
    );
    // The merge request's run, admitted last, owns "<app> / build": the push's report is taken from PaC.
    await eventually(
      "the push run's report taken from PaC",
      async () => (await fresh(pushed)).metadata.annotations?.["tekton-lineage.io/pac-report-taken-over"],
    );
    await shownWhen("the merge request's run on GitLab", sha, (job) => job.target_url === linkOf(merged));
    const ownerSince = Date.now();
    await tekton.finishNow(namespace, pushed.metadata.name ?? "", { succeeded: true });
    await pacSawEnd(pushed);
    await tekton.finishNow(namespace, merged.metadata.name ?? "", { succeeded: true });
    await eventually("the merge request green", async () =>
      (await pipelinesOf(gitlab, sha)).every((p) => p.status === "success"),
    );
    await eventually("the watch to sample the green", () => green.greens > 0);
    await green.stop();
    expect(green.falseGreens).toEqual([]);
    // No flapping: once the merge request's run owned the status, nothing wrote the push's run onto it.
    const written = gitlab.requests.filter(
      (r) =>
        r.method === "POST" && r.path.endsWith(`/statuses/${sha}`) && r.at > ownerSince && r.status === 201,
    );
    expect(written.map((r) => (r.body as { target_url?: string }).target_url)).not.toContain(linkOf(pushed));
    expect(causedNotes(sha, [pushed])).toEqual({ pacReportsOfCancelled: [], refused: [] });
  });

  it.each([
    ["waited longer than the Repository's max-queue-wait", "timeout-repo"],
    ["waited in a queue that was cleared", "cleared-repo"],
  ])("a run cancelled because it %s is never reported a success", async (_why, repository) => {
    pac.version = version;
    const project = projects[repository] ?? projectId;
    const [shaA, shaB] = [commitIn(repository), commitIn(repository)];
    const greenB = watch(shaB, project);
    const holder = createdRun((await pac.open(mr(shaA, repository), ["build"]))[0]);
    const waiting = createdRun((await pac.open(mr(shaB, repository), ["build"]))[0]);
    expect(waiting.spec?.status).toBe("PipelineRunPending");
    // Tekton marks the waiting run as it marks every Pending run: Unknown, PipelineRunPending.
    await eventually(
      "Tekton to mark the waiting run Pending",
      async () => succeededCondition(await fresh(waiting))?.reason === "PipelineRunPending",
    );
    if (repository === "cleared-repo") {
      // The queue's Lease lists the run once the reconciler has seen it waiting.
      const queue = `pac/${namespace}/${repository}`;
      await eventually("the queue to list the waiting run", async () =>
        (await tektonLineageCli("queue", "list")).includes(waiting.metadata.name ?? ""),
      );
      expect(await tektonLineageCli("queue", "clear", queue)).toContain(
        `cancelled ${namespace}/${waiting.metadata.name}`,
      );
    }
    await eventually("the waiting run cancelled", () => endedCancelled(waiting), { timeoutMs: 15_000 });
    await pacSawEnd(waiting);
    await shownWhen(
      "GitLab to show the waiting run cancelled, with why",
      shaB,
      (job) => job.status === "canceled" && /^attempt 1 cancelled/.test(job.description ?? ""),
      project,
    );
    await tekton.finishNow(namespace, holder.metadata.name ?? "", { succeeded: true });
    await eventually("merge request A green", async () =>
      (await pipelinesOf(gitlab, shaA, project)).every((p) => p.status === "success"),
    );
    await greenB.stop();
    expect(greenB.falseGreens).toEqual([]);
    expect(greenB.samples).toBeGreaterThan(10);
    expect(causedNotes(shaB, [waiting])).toEqual({ pacReportsOfCancelled: [], refused: [] });
  });
});
