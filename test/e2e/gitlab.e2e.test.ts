import { Commits } from "@gitbeaker/rest";
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PipelineRun, taskRunResource } from "../../src/core/tekton.ts";
import type { Explanation } from "../../src/explain/timeline.ts";
import { lineageIdOf } from "../../src/lineage/lineage.ts";
import { attemptName } from "../../src/lineage/names.ts";
import type { FakeGitLab } from "../fakes/gitlab/server.ts";
import type { StartResult } from "../fakes/pac/controller.ts";
import { type MergeRequest, PacEmulator } from "../fakes/pac/emulator.ts";
import { resolvedTemplate } from "../fakes/pac/labels.ts";
import { tektonLineageCli } from "./support/cli.ts";
import { adminKubeConfig } from "./support/context.ts";
import {
  forkProjectId,
  gitlabToken,
  gitlabUser,
  gitProviderOf,
  type Job,
  jobsOf,
  mergeRequest,
  mergeRequestView,
  newCommit,
  pipelinesOf,
  projectId,
  shown,
  shownWhen as shownWhenIn,
  startFakeGitLab,
} from "./support/gitlab.ts";
import { newPipelineRun, pacPipelineRun, pipelineRuns } from "./support/pipelineruns.ts";
import { eventually } from "./support/poll.ts";
import { createRepository } from "./support/repositories.ts";
import { createSuite } from "./support/suite.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";
import { TektonSimulator } from "./support/tekton-simulator.ts";
import { type RegisteredWebhooks, registerAndServe } from "./support/webhooks.ts";

/**
 * The merge request's GitLab status follows the latest attempt, against the real API server, the real
 * @gitbeaker/rest client, a fake GitLab that judges like GitLab (users, retried jobs, the pipeline's
 * composite status) and Pipelines-as-Code emulated from its source (test/fakes/pac), writing with the
 * Repository's token — the same GitLab user as tekton-lineage. Every test ends on what the merge request
 * shows: the composite status of the commit's pipelines.
 */
const suite = createSuite("gitlab");
const admin = adminKubeConfig();
const runs = pipelineRuns(admin);
/** The application name comes from PaC's ConfigMap, as Konflux sets its own: tekton-lineage must follow. */
const application = "Konflux Production Internal";
const named = `${application} / build`;
const consoleRoot = "https://console.example";
const consoleLink = (namespace: string, name: string) => `${consoleRoot}/ns/${namespace}/pipelinerun/${name}`;
let namespace: string;
let gitlab: FakeGitLab;
let lineage: LineageProcess;
let webhooks: RegisteredWebhooks;
let tekton: TektonSimulator;
let pac: PacEmulator;
/** tekton-lineage's settings here; `explain` is run with them too, as it would be in the Deployment. */
let settings: string[];

const mr = (sha: string, fork = false): MergeRequest => ({
  namespace,
  repository: "demo-repo",
  sha,
  number: mergeRequest,
  sourceProjectId: fork ? forkProjectId : projectId,
  targetProjectId: projectId,
});
const errorLink = (sha: string) =>
  `https://errors.example/${namespace}/lineage/${lineageIdOf(`pac/${namespace}/demo-repo/pull_request/${mergeRequest}/${sha}/build`)}`;

/** Waits until the job GitLab shows for `context` on `sha` matches, and returns it; says what it showed if not. */
const shownWhen = (
  what: string,
  sha: string,
  matches: (job: Job) => boolean,
  context = named,
  timeoutMs = 30_000,
) => shownWhenIn(gitlab, what, sha, matches, { context, timeoutMs });
const running = (job: Job) => job.status === "running";

/**
 * Waits for what the merge request must show in the end: every pipeline of the commit success, no job
 * of it failed, no link to the console's root. Returns the jobs GitLab shows.
 */
async function allGreen(sha: string, timeoutMs = 30_000): Promise<Job[]> {
  let last: string[] = [];
  try {
    return await eventually(
      "every pipeline of the commit to be success",
      async () => {
        last = await mergeRequestView(gitlab, sha);
        const pipelines = await pipelinesOf(gitlab, sha);
        const jobs = pipelines.flatMap((p) => p.jobs.filter((j) => !j.retried));
        const green =
          pipelines.length > 0 &&
          pipelines.every((p) => p.status === "success") &&
          jobs.every((j) => j.status !== "failed" && j.target_url !== consoleRoot);
        return green ? jobs : undefined;
      },
      { timeoutMs },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; the merge request shows ${JSON.stringify(last, null, 1)}`);
  }
}

/** The composite status of each pipeline of the commit: what the merge request shows. */
const mergeRequestStatus = async (sha: string) => (await pipelinesOf(gitlab, sha)).map((p) => p.status);
/** Status reads and writes GitLab answered with this HTTP status. */
const statusRequestsAnswered = (status: number) =>
  gitlab.count("GET", /statuses/, status) + gitlab.count("POST", /statuses/, status);
const createdRun = (result: StartResult | undefined): PipelineRun => {
  if (!result || !("created" in result))
    throw new Error(`PaC did not create the run: ${JSON.stringify(result)}`);
  return result.created;
};
const startedByTekton = (run: PipelineRun) =>
  eventually("Tekton to start it", () =>
    tekton.started.some((s) => s.run === `${namespace}/${run.metadata.name}`),
  );
/** Takes attempt 1's name of the commit's build lineage, so PaC's create of it fails ("already exists"). */
async function takeFirstName(sha: string): Promise<string> {
  const taken = attemptName(
    "build",
    lineageIdOf(`pac/${namespace}/demo-repo/pull_request/${mergeRequest}/${sha}/build`),
    1,
  );
  await runs.create(
    newPipelineRun({ namespace, name: taken, labels: { "tekton-lineage.io/webhook": "disabled" } }),
  );
  return taken;
}
/** The API server's own words in a failure PaC reported. */
const apiServerWords = (result: StartResult | undefined) =>
  /```([\s\S]*)```/.exec(result && "failed" in result ? result.failed : "")?.[1] ?? "";

beforeAll(async () => {
  namespace = await suite.namespace("runs");
  gitlab = await startFakeGitLab(namespace);
  await createRepository(admin, {
    namespace,
    name: "demo-repo",
    url: "https://gitlab.example/demo/demo-repo",
    gitProvider: gitProviderOf(gitlab),
  });
  const pacConfig = {
    "application-name": application,
    "custom-console-url": consoleRoot,
    "custom-console-url-pr-details": `${consoleRoot}/ns/{{ namespace }}/pipelinerun/{{ pr }}`,
  };
  // PaC's ConfigMap, where PaC is installed (here: the test's namespace, --pac-namespace).
  await admin.makeApiClient(CoreV1Api).createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: "pipelines-as-code" }, data: pacConfig },
  });
  settings = [
    `--watch-namespaces=${namespace}`,
    `--pac-namespace=${namespace}`,
    "--error-url=https://errors.example/{{ namespace }}/lineage/{lineage}",
    "--creation-grace=1500ms",
    "--orphan-grace=2s",
    "--gitlab-resync=1s",
    `--gitlab-hosts=${new URL(gitlab.url).host}`,
    "--gitlab-timeout=2s",
    // A token is read again only when GitLab refuses it, so the rotation test sees exactly that path.
    "--gitlab-token-cache=10m",
  ];
  lineage = await startTektonLineage({ role: "all", args: settings });
  webhooks = await registerAndServe({
    suite: suite.id,
    port: lineage.port,
    mutatingFailurePolicy: "Fail",
    namespace,
    processes: lineage,
  });
  tekton = new TektonSimulator(admin, [namespace], () => ({
    durationMs: Number.POSITIVE_INFINITY,
    succeeded: true,
  }));
  await tekton.start();
  pac = await new PacEmulator({
    kubeConfig: admin,
    namespaces: [namespace],
    gitlabUrl: gitlab.url,
    version: "v0.38",
    config: pacConfig,
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

describe("the reported sequence (SRVKP-9044), with PaC before v0.39", () => {
  it("ends with every pipeline of the commit green after PaC's bare failure and a retest", async () => {
    const sha = newCommit(gitlab, { ciPipeline: true });
    const taken = await takeFirstName(sha);
    pac.version = "v0.38";
    const [first] = await pac.open(mr(sha), ["build"]);
    const words = apiServerWords(first);
    // What the API server answers a create by generateName whose name is taken, in its own words.
    expect(words).toBe(
      `pipelineruns.tekton.dev "${taken}" already exists, the server was not able to generate a unique name for the object`,
    );
    // PaC's own report, as the bug shows it: the bare application name, "failed", the console's root.
    expect(pac.statuses.at(-1)).toMatchObject({
      name: application,
      state: "failed",
      description: "failed",
      targetUrl: consoleRoot,
      project: projectId,
    });
    // tekton-lineage takes that status over: the API server's words, the error link.
    const bare = await shownWhen(
      "PaC's bare failure corrected",
      sha,
      (job) => job.description?.startsWith("attempt 1") === true,
      application,
    );
    expect(bare).toMatchObject({
      status: "failed",
      description: `attempt 1 could not be created: ${words}`,
      target_url: errorLink(sha),
    });
    await shownWhen(
      "attempt 1's failure on its pipeline's status",
      sha,
      (job) => job.description === `attempt 1 could not be created: ${words}`,
    );
    // Events are written from a background queue after the GitLab writes: wait for them to be there.
    const events = await eventually("the CreationFailed and PacStatusCorrected Events", async () => {
      const { items } = await admin.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace });
      const failed = items.find((e) => e.reason === "CreationFailed" && e.involvedObject.name === taken);
      return failed && items.some((e) => e.reason === "PacStatusCorrected") ? { failed } : undefined;
    });
    expect(events.failed.message).toBe(`attempt 1 could not be created: ${words}`);

    // The retest: attempt 2 is created and runs; PaC reports it running under its pipeline's name.
    const second = createdRun((await pac.retest(mr(sha), ["build"]))[0]);
    expect(second.metadata.annotations?.["tekton-lineage.io/attempt"]).toBe("2");
    await startedByTekton(second);
    await shownWhen(
      "attempt 2 running",
      sha,
      (job) => running(job) && job.target_url === consoleLink(namespace, second.metadata.name ?? ""),
    );
    await tekton.finishNow(namespace, second.metadata.name ?? "", { succeeded: true });

    const jobs = await allGreen(sha);
    const link2 = consoleLink(namespace, second.metadata.name ?? "");
    expect(jobs.find((j) => j.name === application)).toMatchObject({
      status: "success",
      description: `attempt 2 succeeded; attempt 1 could not be created: ${words}`,
      target_url: link2,
    });
    expect(jobs.find((j) => j.name === named)).toMatchObject({ status: "success", target_url: link2 });
    // PaC's statuses and tekton-lineage's joined the merge request's pipeline, as PaC addresses GitLab:
    // no ref sent (GitLab takes the pipeline's), never refused.
    const pipelines = await pipelinesOf(gitlab, sha);
    expect(pipelines.map((p) => [p.ref, p.status])).toEqual([
      [`refs/merge-requests/${mergeRequest}/head`, "success"],
    ]);
    expect(gitlab.requests.filter((r) => r.path.includes(sha) && r.status === 404)).toEqual([]);
    expect(
      gitlab.requests.filter(
        (r) => r.method === "POST" && r.path.includes(sha) && "ref" in (r.body as object),
      ),
    ).toEqual([]);
  });
});

describe("PaC v0.39 and later, which name the pipeline in the failure", () => {
  it("corrects PaC's failure of the pipeline and ends green after the retest, with no bare status", async () => {
    const sha = newCommit(gitlab, { ciPipeline: true });
    await takeFirstName(sha);
    pac.version = "v0.50";
    const [first] = await pac.open(mr(sha), ["build"]);
    const words = apiServerWords(first);
    expect(pac.statuses.at(-1)).toMatchObject({ name: named, state: "failed", targetUrl: consoleRoot });
    await shownWhen(
      "PaC's failure corrected",
      sha,
      (job) => job.description === `attempt 1 could not be created: ${words}`,
    );
    const second = createdRun((await pac.retest(mr(sha), ["build"]))[0]);
    await startedByTekton(second);
    await tekton.finishNow(namespace, second.metadata.name ?? "", { succeeded: true });
    const jobs = await allGreen(sha);
    expect(jobs.map((j) => j.name)).toEqual([named]);
    pac.version = "v0.38";
  });
});

describe("PaC's watcher and older attempts, with the same GitLab user", () => {
  /** tekton-lineage has taken the run's final report from PaC (its state completed, and why). */
  const reportTakenOver = (run: PipelineRun) =>
    eventually(`${run.metadata.name}'s report taken from PaC`, async () => {
      const a = (await runs.get(namespace, run.metadata.name ?? "")).metadata.annotations ?? {};
      return (
        a["pipelinesascode.tekton.dev/state"] === "completed" && a["tekton-lineage.io/pac-report-taken-over"]
      );
    });
  /** PaC's watcher has read the run since it ended, and posted no final status for it. */
  const pacReportedNothing = async (run: PipelineRun) => {
    await eventually(`PaC's watcher to see ${run.metadata.name} ended`, () => {
      const read = pac.watcherRead(namespace, run.metadata.name ?? "");
      return read?.status?.conditions?.some((c) => c.type === "Succeeded" && c.status !== "Unknown");
    });
    const link = consoleLink(namespace, run.metadata.name ?? "");
    expect(pac.statuses.filter((s) => s.targetUrl === link && s.status === "completed")).toEqual([]);
  };

  it.each([
    { outcome: "failed", succeeded: false },
    { outcome: "success", succeeded: true },
  ])(
    "keeps PaC from reporting attempt 1 $outcome onto attempt 2's open status: the report is tekton-lineage's",
    async ({ succeeded }) => {
      const sha = newCommit(gitlab, { ciPipeline: true });
      const first = createdRun((await pac.open(mr(sha), ["build"]))[0]);
      await startedByTekton(first);
      await shownWhen("attempt 1 running", sha, running);
      const second = createdRun((await pac.retest(mr(sha), ["build"]))[0]);
      await startedByTekton(second);
      const link2 = consoleLink(namespace, second.metadata.name ?? "");
      await shownWhen("attempt 2 running", sha, (job) => running(job) && job.target_url === link2);
      await reportTakenOver(first);
      // Attempt 1 ends; PaC's watcher leaves it alone, so GitLab never shows its end on attempt 2's status.
      await tekton.finishNow(namespace, first.metadata.name ?? "", { succeeded });
      await pacReportedNothing(first);
      expect(await shown(gitlab, sha, named)).toMatchObject({ status: "running", target_url: link2 });
      expect((await pipelinesOf(gitlab, sha)).map((p) => p.status)).toEqual(["running"]);
      await tekton.finishNow(namespace, second.metadata.name ?? "", { succeeded: true });
      const jobs = await allGreen(sha);
      expect(jobs.find((j) => j.name === named)?.target_url).toBe(link2);
      // PaC's running (1), superseded (1); running (2), success (2) at most.
      expect((await jobsOf(gitlab, sha)).filter((j) => j.name === named).length).toBeLessThanOrEqual(4);
    },
  );

  it("keeps PaC from reporting a superseded attempt it cancelled onto the latest", async () => {
    const sha = newCommit(gitlab, { ciPipeline: true });
    const template = () =>
      resolvedTemplate("build", { annotations: { "pipelinesascode.tekton.dev/cancel-in-progress": "true" } });
    const first = createdRun((await pac.open(mr(sha), [template()]))[0]);
    await startedByTekton(first);
    await shownWhen("attempt 1 running", sha, running);
    const second = createdRun((await pac.retest(mr(sha), [template()]))[0]);
    // tekton-lineage cancels attempt 1 (cancel-in-progress), taking its report from PaC in the same write.
    await reportTakenOver(first);
    await pacReportedNothing(first);
    await startedByTekton(second);
    const link2 = consoleLink(namespace, second.metadata.name ?? "");
    await shownWhen("attempt 2 running", sha, (job) => running(job) && job.target_url === link2);
    await tekton.finishNow(namespace, second.metadata.name ?? "", { succeeded: true });
    expect((await allGreen(sha)).find((j) => j.name === named)?.target_url).toBe(link2);
  });
});

describe("a run stored although PaC was told its create failed (the answer was lost)", () => {
  it("with PaC v0.45 and later (its watcher makes the git-auth Secret): handed over to PaC's watcher, and the merge request ends green", async () => {
    const sha = newCommit(gitlab, { ciPipeline: true });
    pac.version = "v0.50";
    const [first] = await pac.open(mr(sha), ["build"], { answerLost: true });
    const run = first && "failed" in first ? first.run : undefined;
    if (!run) throw new Error("the emulator stored no run");
    expect(pac.statuses.at(-1)).toMatchObject({ name: named, state: "failed", targetUrl: consoleRoot });
    // PaC never patched the run's state: its watcher ignores it. tekton-lineage adopts it after the grace.
    const adopted = await eventually("the run to be handed over to PaC's watcher", async () => {
      const stored = await runs.get(namespace, run.metadata.name ?? "");
      return stored.metadata.annotations?.["pipelinesascode.tekton.dev/state"] ? stored : undefined;
    });
    expect(adopted.metadata.annotations?.["pipelinesascode.tekton.dev/log-url"]).toBe(
      consoleLink(namespace, run.metadata.name ?? ""),
    );
    // The Event is written from a background queue after the adoption: wait for it.
    await eventually("the OrphanAdopted Event", async () => {
      const events = await admin
        .makeApiClient(CoreV1Api)
        .listNamespacedEvent({ namespace, fieldSelector: "reason=OrphanAdopted" });
      return events.items.some((e) => e.involvedObject.name === run.metadata.name);
    });
    // PaC's watcher now takes it over: the git-auth Secret, running, then its end.
    const secret = run.metadata.annotations?.["pipelinesascode.tekton.dev/git-auth-secret"] ?? "";
    await eventually("PaC's watcher to make the git-auth Secret", () =>
      admin
        .makeApiClient(CoreV1Api)
        .readNamespacedSecret({ namespace, name: secret })
        .then(
          () => true,
          () => false,
        ),
    );
    await eventually("PaC to report the adopted run running", () =>
      pac.statuses.some(
        (s) =>
          s.name === named &&
          s.state === "running" &&
          s.targetUrl === consoleLink(namespace, run.metadata.name ?? ""),
      ),
    );
    await tekton.finishNow(namespace, run.metadata.name ?? "", { succeeded: true });
    await allGreen(sha);
  });

  it("before v0.45 (the git-auth Secret went with the failed create): cancelled, and the merge request says why", async () => {
    const sha = newCommit(gitlab, { ciPipeline: true });
    pac.version = "v0.38";
    const [first] = await pac.open(mr(sha), ["build"], { answerLost: true });
    const run = first && "failed" in first ? first.run : undefined;
    if (!run) throw new Error("the emulator stored no run");
    expect(pac.statuses.at(-1)).toMatchObject({ name: application, state: "failed", targetUrl: consoleRoot });
    const secret = run.metadata.annotations?.["pipelinesascode.tekton.dev/git-auth-secret"] ?? "";
    const cancelled = await eventually("the run to be cancelled", async () => {
      const stored = await runs.get(namespace, run.metadata.name ?? "");
      return stored.spec?.status === "Cancelled" ? stored : undefined;
    });
    expect(cancelled.metadata.annotations?.["tekton-lineage.io/queue-decision"]).toContain(
      `cancelled: could not clone (its git-auth Secret ${secret} was deleted when PaC's create failed`,
    );
    await shownWhen(
      "the run's status cancelled, saying why",
      sha,
      (job) => job.status === "canceled" && job.description?.includes("could not clone") === true,
    );
    await shownWhen(
      "PaC's bare failure taken over",
      sha,
      (job) => job.description?.startsWith("attempt 1") === true,
      application,
    );
    expect((await pipelinesOf(gitlab, sha)).map((p) => p.status)).not.toContain("success");
  });
});

describe("a failed run", () => {
  it("names the task that failed first, read from its TaskRuns as of the run's own version", async () => {
    const sha = newCommit(gitlab, { ciPipeline: true });
    const run = createdRun((await pac.open(mr(sha), ["build"]))[0]);
    const name = run.metadata.name ?? "";
    await startedByTekton(run);
    await shownWhen("attempt 1 running", sha, running);
    // As Tekton does: the TaskRun's failure is written before the PipelineRun's.
    const objects = admin.makeApiClient(CustomObjectsApi);
    const taskRun = `${name}-lint`;
    await objects.createNamespacedCustomObject({
      ...taskRunResource,
      namespace,
      body: {
        apiVersion: "tekton.dev/v1",
        kind: "TaskRun",
        metadata: {
          name: taskRun,
          labels: { "tekton.dev/pipelineRun": name, "tekton.dev/pipelineTask": "lint" },
        },
        spec: {},
      },
    });
    await objects.patchNamespacedCustomObjectStatus(
      {
        ...taskRunResource,
        namespace,
        name: taskRun,
        body: {
          status: {
            conditions: [{ type: "Succeeded", status: "False", reason: "Failed" }],
            completionTime: new Date().toISOString(),
          },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await tekton.finishNow(namespace, name, { succeeded: false });
    await shownWhen(
      "attempt 1 failed, naming task lint",
      sha,
      (job) =>
        job.status === "failed" && /^attempt 1 failed \(.*\): task lint failed/.test(job.description ?? ""),
    );
  });
});

describe("a merge request from a fork", () => {
  it("reports to the target project, as PaC does, when the token may not write to the fork", async () => {
    const sha = newCommit(gitlab, { fork: true });
    const run = createdRun((await pac.open(mr(sha, true), ["build"]))[0]);
    await startedByTekton(run);
    await shownWhen("attempt 1 running in the target project", sha, running);
    await tekton.finishNow(namespace, run.metadata.name ?? "", { succeeded: true });
    await allGreen(sha);
    expect(await jobsOf(gitlab, sha, forkProjectId)).toEqual([]);
    expect(gitlab.count("POST", new RegExp(`projects/${forkProjectId}/statuses`), 403)).toBeGreaterThan(0);
  });
});

describe("GitLab trouble", () => {
  /** A run as PaC makes it, created directly: only tekton-lineage reports it. */
  async function startedRun(sha: string): Promise<PipelineRun> {
    const run = await runs.create(pacPipelineRun({ namespace, sha, repository: "demo-repo" }));
    await startedByTekton(run);
    return run;
  }

  it("rides out a 429 storm, honouring Retry-After, and loses nothing", async () => {
    const sha = newCommit(gitlab);
    const ofCommit = new RegExp(sha);
    gitlab.failNext(6, { status: 429, retryAfterSeconds: 1 }, ofCommit);
    const started = Date.now();
    const run = await startedRun(sha);
    const job = await shownWhen("the status after the storm", sha, running);
    expect(job.target_url).toBe(consoleLink(namespace, run.metadata.name ?? ""));
    expect(await mergeRequestStatus(sha)).toEqual(["running"]);
    // Six 429s, each asking for a second: had they been honoured, the storm took at least ~5 s.
    expect(Date.now() - started).toBeGreaterThan(4000);
    expect(gitlab.requests.filter((r) => ofCommit.test(r.path) && r.status === 429)).toHaveLength(6);
  });

  it("delays reports while GitLab is down and sends them soon after it is back", async () => {
    const sha = newCommit(gitlab);
    const run = await startedRun(sha);
    await shownWhen("running in GitLab", sha, running);
    const refused = () => lineage.metric("tekton_lineage_gitlab_requests_total", { status: "0" });
    const refusedBefore = await refused();
    await gitlab.down();
    await tekton.finishNow(namespace, run.metadata.name ?? "", {
      succeeded: false,
      reason: "Failed",
      message: "Tasks Completed: 2 (Failed: 1, Cancelled 0), Skipped: 0",
    });
    // GitLab stays down until tekton-lineage has found it down three windows in a row (0.5 + 1 + 2 s):
    // long enough for a backoff to grow, had the reporter grown one per lineage.
    await eventually("three refused tries", async () => (await refused()) >= refusedBefore + 3, {
      timeoutMs: 30_000,
    });
    await gitlab.up();
    const back = Date.now();
    // The host is tried again at most 5 s after its last refusal (README: "GitLab down").
    const job = await shownWhen(
      "the failure reported once GitLab is back",
      sha,
      (job) => job.status === "failed",
      named,
      10_000,
    );
    expect(job.description).toBe(
      "attempt 1 failed (Failed): Tasks Completed: 2 (Failed: 1, Cancelled 0), Skipped: 0",
    );
    expect(Date.now() - back).toBeLessThan(10_000);
    expect(await mergeRequestStatus(sha)).toEqual(["failed"]);
  });

  it("repairs a stale write by another user, and stops contesting one that keeps writing", async () => {
    const sha = newCommit(gitlab);
    const run = await startedRun(sha);
    await shownWhen("running in GitLab", sha, running);
    gitlab.model.addToken("glpat-someone", "someone-else", [projectId]);
    const someone = new Commits({ host: gitlab.url, token: "glpat-someone" });
    // Another client, which (as any GitLab client must) tries again while GitLab answers 409: the commit's
    // statuses are being updated by someone else.
    const stale = () =>
      eventually("the other user's status to be accepted", () =>
        someone
          .editStatus(projectId, sha, "failed", {
            name: named,
            targetUrl: consoleRoot,
            description: "failed",
          })
          .then(() => true),
      );
    await stale();
    const repaired = await shownWhen(
      "the stale status to be repaired",
      sha,
      (job) => running(job) && job.author.username === gitlabUser,
    );
    expect(repaired.target_url).toBe(consoleLink(namespace, run.metadata.name ?? ""));
    // The other user keeps writing; each time, tekton-lineage repairs (its running status is back) or says it
    // stops contesting: at most --gitlab-max-repairs (3) repairs in the window, then it leaves GitLab alone.
    const contested = () => lineage.metric("tekton_lineage_gitlab_problems_total", { kind: "contested" });
    const contestedBefore = await contested();
    let repairs = 1;
    for (;;) {
      await stale();
      const outcome = await eventually("a repair, or tekton-lineage to stop contesting", async () => {
        if ((await contested()) > contestedBefore) return "contested";
        const job = await shown(gitlab, sha, named);
        return job?.status === "running" && job.author.username === gitlabUser ? "repaired" : undefined;
      });
      if (outcome === "contested") break;
      repairs += 1;
      expect(repairs).toBeLessThanOrEqual(3);
    }
    expect(repairs).toBe(3);
    // Contested, the other writer's word stands: the merge request shows its failure.
    expect((await shown(gitlab, sha, named))?.status).toBe("failed");
    expect(await mergeRequestStatus(sha)).toEqual(["failed"]);
  });

  it("picks up a rotated token on the next try once GitLab refuses the old one", async () => {
    // Warm the token cache with the old token, then rotate: GitLab revokes it and the Secret gets the new one.
    const before = newCommit(gitlab);
    await startedRun(before);
    await shownWhen("running in GitLab", before, running);
    const refusedBefore = statusRequestsAnswered(401);
    gitlab.model.addToken("glpat-e2e-rotated-0123", gitlabUser, [projectId]);
    gitlab.model.tokens.delete(gitlabToken);
    await admin.makeApiClient(CoreV1Api).replaceNamespacedSecret({
      name: "gitlab-token",
      namespace,
      body: { metadata: { name: "gitlab-token" }, stringData: { token: "glpat-e2e-rotated-0123" } },
    });
    const sha = newCommit(gitlab);
    const run = await startedRun(sha);
    const job = await shownWhen("the status written with the new token", sha, running);
    expect(job.target_url).toBe(consoleLink(namespace, run.metadata.name ?? ""));
    // The old token was cached for ten minutes (--gitlab-token-cache); only GitLab's refusal made
    // tekton-lineage read the Secret again, within the 30 s above rather than after a 5-minute wait.
    expect(statusRequestsAnswered(401)).toBeGreaterThan(refusedBefore);
    expect(await mergeRequestStatus(sha)).toEqual(["running"]);
  });
});

describe("tekton-lineage explain", () => {
  /** With tekton-lineage's settings here, as it would run in the Deployment (kubectl exec). */
  const explain = (...args: string[]) => tektonLineageCli("explain", ...args, ...settings);

  it("tells the story of the reported sequence: the attempt never created, the retest, what GitLab shows", async () => {
    const sha = newCommit(gitlab, { ciPipeline: true });
    const taken = await takeFirstName(sha);
    pac.version = "v0.50";
    try {
      const words = apiServerWords((await pac.open(mr(sha), ["build"]))[0]);
      const second = createdRun((await pac.retest(mr(sha), ["build"]))[0]);
      const name = second.metadata.name ?? "";
      await startedByTekton(second);
      await tekton.finishNow(namespace, name, { succeeded: true });
      await allGreen(sha);

      const text = await explain(`${namespace}/${name}`);
      expect(text).toContain(`attempt 1  ${taken}`);
      expect(text).toContain(`never created: the create failed: ${words}`);
      expect(text).toContain(`attempt 2  ${name}  <- GitLab follows this attempt`);
      expect(text).toContain(`admitted: supersedes ${taken}`);
      expect(text).toContain(`should show: success "attempt 2 succeeded" -> ${consoleLink(namespace, name)}`);
      expect(text).toContain("= GitLab shows what it should");

      const [lineageOfCommit, ...others] = JSON.parse(
        await explain(`--commit=${sha}`, "--output=json"),
      ) as Explanation[];
      expect(others).toEqual([]);
      expect(
        lineageOfCommit?.attempts.map((a) => [a.attempt, a.name, a.latest, a.createdAt !== undefined]),
      ).toEqual([
        [1, taken, false, false],
        [2, name, true, true],
      ]);
      expect(lineageOfCommit?.gitlab).toMatchObject({
        target: { sha, context: named, projects: [String(projectId)] },
        should: { state: "success", attempt: 2 },
        // PaC's watcher may have had the last word, in its own words, for the same run: that is agreed.
        shows: { state: "success", targetUrl: consoleLink(namespace, name), author: gitlabUser },
        agrees: true,
      });
    } finally {
      pac.version = "v0.38";
    }
  });

  it("says plainly what it cannot explain: a missing run, a run without lineage or with forged claims, a bad question", async () => {
    const failed = async (...args: string[]) => {
      try {
        await explain(...args);
      } catch (error) {
        const { code, stderr } = error as { code: number; stderr: string };
        return { status: code, stderr: String(stderr) };
      }
      throw new Error(`explain ${args.join(" ")} did not fail`);
    };
    expect(await failed(`${namespace}/no-such-run`)).toEqual({
      status: 1,
      stderr: `tekton-lineage: PipelineRun ${namespace}/no-such-run not found\n`,
    });
    const taken = await takeFirstName(newCommit(gitlab));
    expect((await failed(`${namespace}/${taken}`)).stderr).toContain("has no tekton-lineage lineage");
    expect(await failed("--commit=abc")).toMatchObject({
      status: 2,
      stderr: expect.stringContaining("not a whole commit sha"),
    });
    // A run carrying claims tekton-lineage did not sign (made where its webhooks do not reach): the
    // reconciler ignores it, and explain says so rather than tell its story.
    const core = admin.makeApiClient(CoreV1Api);
    const unwatched = `${suite.id}-unwatched`;
    await core.createNamespace({ body: { metadata: { name: unwatched } } });
    try {
      const forged = await runs.create(
        newPipelineRun({
          namespace: unwatched,
          name: "build-forged-1",
          labels: { "tekton-lineage.io/lineage-id": "forged", "tekton-lineage.io/attempt": "1" },
          annotations: { "tekton-lineage.io/attempt": "1", "tekton-lineage.io/signature": "v1.bogus.bogus" },
        }),
      );
      expect((await failed(`${unwatched}/${forged.metadata.name}`)).stderr).toContain(
        "carries tekton-lineage claims that do not verify",
      );
    } finally {
      await core.deleteNamespace({ name: unwatched });
    }
  });
});

describe("PaC's ConfigMap", () => {
  it("is watched: a new application name is followed by the next status", async () => {
    const core = admin.makeApiClient(CoreV1Api);
    const renamed = "Konflux Staging";
    await core.patchNamespacedConfigMap(
      { name: "pipelines-as-code", namespace, body: { data: { "application-name": renamed } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    // Last in the file: nothing after it depends on the name being restored in time.
    try {
      const sha = newCommit(gitlab);
      const run = await runs.create(pacPipelineRun({ namespace, sha, repository: "demo-repo" }));
      await startedByTekton(run);
      const job = await shownWhen("the status under PaC's new name", sha, running, `${renamed} / build`);
      expect(job.target_url).toBe(consoleLink(namespace, run.metadata.name ?? ""));
      expect(await mergeRequestStatus(sha)).toEqual(["running"]);
    } finally {
      await core.patchNamespacedConfigMap(
        { name: "pipelines-as-code", namespace, body: { data: { "application-name": application } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    }
  });
});
