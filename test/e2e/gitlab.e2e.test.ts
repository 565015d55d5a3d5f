import { randomBytes } from "node:crypto";
import { Commits } from "@gitbeaker/rest";
import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineRun } from "../../src/core/tekton.ts";
import { apiFailure } from "../../src/kube/api-errors.ts";
import { lineageIdOf } from "../../src/lineage/lineage.ts";
import { attemptName } from "../../src/lineage/names.ts";
import type { FakeGitLab } from "../fakes/gitlab/server.ts";
import { adminKubeConfig } from "./support/context.ts";
import { gitlabToken, type Job, jobsOf, projectId, shown, startFakeGitLab } from "./support/gitlab.ts";
import { emitPacCreateFailure } from "./support/pac-events.ts";
import { newPipelineRun, pacPipelineRun, pipelineRuns } from "./support/pipelineruns.ts";
import { eventually } from "./support/poll.ts";
import { createRepository } from "./support/repositories.ts";
import { createSuite } from "./support/suite.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";
import { TektonSimulator } from "./support/tekton-simulator.ts";
import { type RegisteredWebhooks, registerAndServe } from "./support/webhooks.ts";

/**
 * The merge request's status follows the latest attempt, against the real API server, the real
 * @gitbeaker/rest client and a stateful fake GitLab; a PaC-like client writes its own statuses as PaC does.
 */
const suite = createSuite("gitlab");
const admin = adminKubeConfig();
const runs = pipelineRuns(admin);
const context = "Pipelines as Code CI / build";
const consoleLink = (namespace: string, name: string) =>
  `https://console.example/ns/${namespace}/pipelinerun/${name}`;
let namespace: string;
let gitlab: FakeGitLab;
let lineage: LineageProcess;
let webhooks: RegisteredWebhooks;
let tekton: TektonSimulator;
let pac: InstanceType<typeof Commits>;

const newSha = () => randomBytes(20).toString("hex");
const pacRun = (sha: string) => pacPipelineRun({ namespace, sha, repository: "demo-repo" });
/** Posts made by tekton-lineage (its token's user) to one commit. */
const ourWrites = async (sha: string) =>
  (await jobsOf(gitlab, sha)).filter((j) => j.author.username === "tekton-lineage-bot");

/** Waits until the job GitLab shows for the pipeline's context on `sha` matches, and returns it. */
const shownWhen = (what: string, sha: string, matches: (job: Job) => boolean, timeoutMs = 30_000) =>
  eventually(
    what,
    async () => {
      const job = await shown(gitlab, sha, context);
      return job && matches(job) ? job : undefined;
    },
    { timeoutMs },
  );
const running = (job: Job) => job.status === "running";
/** Waits until tekton-lineage has read the commit's statuses again, `times` times since `since` (ms). */
const readAgain = (sha: string, since: number, times = 1) =>
  eventually(`tekton-lineage to read GitLab for ${sha.slice(0, 8)} ${times} more time(s)`, () => {
    const reads = gitlab.requests.filter((r) => r.method === "GET" && r.path.includes(sha) && r.at >= since);
    return reads.length >= times;
  });
/** Status reads and writes GitLab answered with this HTTP status. */
const statusRequestsAnswered = (status: number) =>
  gitlab.count("GET", /statuses/, status) + gitlab.count("POST", /statuses/, status);

beforeAll(async () => {
  namespace = await suite.namespace("runs");
  gitlab = await startFakeGitLab(namespace);
  await createRepository(admin, {
    namespace,
    name: "demo-repo",
    url: "https://gitlab.example/demo/demo-repo",
    gitProvider: { url: gitlab.url, type: "gitlab", secret: { name: "gitlab-token", key: "token" } },
  });
  lineage = await startTektonLineage({
    role: "all",
    args: [
      `--watch-namespaces=${namespace}`,
      "--console-url=https://console.example/ns/{{ namespace }}/pipelinerun/{{ pr }}",
      "--error-url=https://errors.example/{{ namespace }}/lineage/{lineage}",
      "--creation-grace=1500ms",
      "--gitlab-resync=1s",
      `--gitlab-hosts=${new URL(gitlab.url).host}`,
      "--gitlab-timeout=2s",
      // A token is read again only when GitLab refuses it, so the rotation test sees exactly that path.
      "--gitlab-token-cache=10m",
    ],
  });
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
  pac = new Commits({ host: gitlab.url, token: "glpat-pac" });
});

afterAll(async () => {
  tekton?.stop();
  await webhooks?.remove();
  await lineage?.stop();
  await gitlab?.stop();
  await suite.cleanup();
});

async function startedRun(sha: string): Promise<PipelineRun> {
  const run = await runs.create(pacRun(sha));
  await eventually("Tekton to start it", () =>
    tekton.started.some((s) => s.run === `${namespace}/${run.metadata.name}`),
  );
  return run;
}

describe("the reported sequence", () => {
  it("ends on attempt 2 with its link and an informative description after attempt 1's create failed", async () => {
    const sha = newSha();
    // Attempt 1 meets a name that is already taken: the create fails, as a generateName collision does.
    const lineageKey = `pac/${namespace}/demo-repo/pull_request/42/${sha}/build`;
    const taken = attemptName("build", lineageIdOf(lineageKey), 1);
    await runs.create(
      newPipelineRun({ namespace, name: taken, labels: { "tekton-lineage.io/webhook": "disabled" } }),
    );
    const failure = await runs.create(pacRun(sha)).then(
      () => undefined,
      (error: unknown) => apiFailure(error),
    );
    expect(failure?.code).toBe(409);
    expect(failure?.message).toMatch(/already exists/);
    // PaC records the failed create on the Repository and reports it its way: "failed", console root.
    await emitPacCreateFailure(admin, {
      namespace,
      repository: "demo-repo",
      generateName: "build-",
      apiServerMessage: failure?.message ?? "",
    });
    await pac.editStatus(projectId, sha, "failed", {
      name: context,
      ref: "feature/login",
      targetUrl: "https://console.example/",
      description: "failed",
    });
    // tekton-lineage reports what really happened to attempt 1: the API server's words.
    const reported = await shownWhen("attempt 1's failure to be reported", sha, (job) =>
      Boolean(job.description?.startsWith("attempt 1")),
    );
    expect(reported).toMatchObject({
      status: "failed",
      description: `attempt 1 could not be created: ${failure?.message}`,
      target_url: `https://errors.example/${namespace}/lineage/${lineageIdOf(lineageKey)}`,
    });
    const events = await admin
      .makeApiClient(CoreV1Api)
      .listNamespacedEvent({ namespace, fieldSelector: "reason=CreationFailed" });
    expect(events.items.some((e) => e.involvedObject.name === taken)).toBe(true);

    // The retest: attempt 2 is created and runs; GitLab follows it.
    const second = await startedRun(sha);
    expect(second.metadata.annotations?.["tekton-lineage.io/attempt"]).toBe("2");
    await shownWhen("attempt 2 running in GitLab", sha, running);
    await tekton.finishNow(namespace, second.metadata.name ?? "", { succeeded: true });
    const final = await shownWhen("attempt 2's success in GitLab", sha, (job) => job.status === "success");
    expect(final).toMatchObject({
      description: "attempt 2 succeeded",
      target_url: consoleLink(namespace, second.metadata.name ?? ""),
    });
    // Attempt 1's statuses (PaC's bare one and tekton-lineage's) are superseded: GitLab marks them retried.
    const history = await jobsOf(gitlab, sha);
    expect(history.filter((j) => j.status === "failed").every((j) => j.retried)).toBe(true);
  });
});

describe("a retest while the first attempt runs", () => {
  it("cancels attempt 1's status as superseded, then shows attempt 2, with no extra writes", async () => {
    const sha = newSha();
    const first = await startedRun(sha);
    await shownWhen("attempt 1 running in GitLab", sha, running);
    const second = await startedRun(sha);
    const job = await shownWhen(
      "attempt 2 running in GitLab",
      sha,
      (job) => job.description === "attempt 2 running",
    );
    expect(job.target_url).toBe(consoleLink(namespace, second.metadata.name ?? ""));
    const history = await jobsOf(gitlab, sha);
    const superseded = history.find((j) => j.description?.startsWith("attempt 1 superseded"));
    expect(superseded).toMatchObject({
      status: "canceled",
      description: `attempt 1 superseded by attempt 2 (${second.metadata.name})`,
      target_url: consoleLink(namespace, first.metadata.name ?? ""),
      retried: true,
    });
    // running (1), canceled (1), running (2): three writes, no flapping, even after a few resyncs.
    await readAgain(sha, Date.now(), 2);
    expect((await ourWrites(sha)).map((j) => j.status)).toEqual(["canceled", "running"]);
    expect(history.filter((j) => j.author.username === "tekton-lineage-bot")).toHaveLength(2);
  });
});

describe("GitLab trouble", () => {
  it("rides out a 429 storm, honouring Retry-After, and loses nothing", async () => {
    const sha = newSha();
    gitlab.failNext(6, { status: 429, retryAfterSeconds: 1 });
    const started = Date.now();
    const run = await startedRun(sha);
    const job = await shownWhen("the status after the storm", sha, running);
    expect(job.target_url).toBe(consoleLink(namespace, run.metadata.name ?? ""));
    // Six 429s, each asking for a second: had they been honoured, the storm took at least ~5 s.
    expect(Date.now() - started).toBeGreaterThan(4000);
    expect(statusRequestsAnswered(429)).toBe(6);
  });

  it("delays reports while GitLab is down and sends them soon after it is back", async () => {
    const sha = newSha();
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
      10_000,
    );
    expect(job.description).toBe(
      "attempt 1 failed (Failed): Tasks Completed: 2 (Failed: 1, Cancelled 0), Skipped: 0",
    );
    expect(Date.now() - back).toBeLessThan(10_000);
  });

  it("repairs a stale write by another client, and stops contesting one that keeps writing", async () => {
    const sha = newSha();
    const run = await startedRun(sha);
    await shownWhen("running in GitLab", sha, running);
    const stale = () =>
      pac.editStatus(projectId, sha, "failed", {
        name: context,
        ref: "feature/login",
        targetUrl: "https://console.example/",
        description: "failed",
      });
    await stale();
    const repaired = await shownWhen("the stale status to be repaired", sha, running);
    expect(repaired.target_url).toBe(consoleLink(namespace, run.metadata.name ?? ""));
    // The other client keeps writing, each time after tekton-lineage has looked at GitLab again:
    // tekton-lineage repairs at most --gitlab-max-repairs (3) times.
    for (let i = 0; i < 6; i++) {
      await stale();
      await readAgain(sha, Date.now());
    }
    const writes = (await ourWrites(sha)).filter((j) => j.status === "running");
    expect(writes.length).toBeLessThanOrEqual(4);
    expect(
      await lineage.metric("tekton_lineage_gitlab_problems_total", { kind: "contested" }),
    ).toBeGreaterThanOrEqual(1);
  });

  it("picks up a rotated token on the next try once GitLab refuses the old one", async () => {
    // Warm the token cache with the old token, then rotate: GitLab revokes it and the Secret gets the new one.
    const before = newSha();
    await startedRun(before);
    await shownWhen("running in GitLab", before, running);
    const refusedBefore = statusRequestsAnswered(401);
    gitlab.model.addToken("glpat-e2e-rotated-0123", "tekton-lineage-bot");
    gitlab.model.tokens.delete(gitlabToken);
    await admin.makeApiClient(CoreV1Api).replaceNamespacedSecret({
      name: "gitlab-token",
      namespace,
      body: { metadata: { name: "gitlab-token" }, stringData: { token: "glpat-e2e-rotated-0123" } },
    });
    const sha = newSha();
    const run = await startedRun(sha);
    const job = await shownWhen("the status written with the new token", sha, running);
    expect(job.target_url).toBe(consoleLink(namespace, run.metadata.name ?? ""));
    expect(job.author.username).toBe("tekton-lineage-bot");
    // The old token was cached for ten minutes (--gitlab-token-cache); only GitLab's refusal made
    // tekton-lineage read the Secret again, within the 30 s above rather than after a 5-minute wait.
    expect(statusRequestsAnswered(401)).toBeGreaterThan(refusedBefore);
  });
});
