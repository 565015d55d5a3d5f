import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { GitLabModel } from "../../test/fakes/gitlab/model.ts";
import { ModelClients } from "../../test/fakes/gitlab/model-api.ts";
import type { Repository } from "../core/repository.ts";
import type { PipelineRun } from "../core/tekton.ts";
import type { CachedEvent } from "../kube/event-source.ts";
import type { CachedLease } from "../kube/leases.ts";
import { silentLogger } from "../observability/logger.ts";
import { defaultPacConfig, readPacConfig } from "../pac/config.ts";
import { CreationFailures } from "../pac/creation-failures.ts";
import { MemoryCache } from "../testing/memory-cache.ts";
import { RecordingRunWriter } from "../testing/recording-run-writer.ts";
import { pipelineRun, RecordingEvents } from "../testing/runs.ts";
import { GitLabError } from "./api.ts";
import { createGitLabMetrics } from "./metrics.ts";
import { GitLabReporter, type GitLabReporterOptions } from "./reporter.ts";

const sha = "4d6f1f0c2b1e8a7d9c3b5a4f6e8d7c9b1a2f3e4d";
const lineage = "abcdefghij";
const context = "Pipelines as Code CI / build";
const key = `ns/${lineage}`;

type RunState = "pending" | "running" | "succeeded" | "failed" | "cancelled";
/** PaC's own link for a run (its log-url annotation). */
const pacLink = (n: number) => `https://pac.example/ns/build-${lineage}-${n}`;

function attempt(n: number, state: RunState = "running", extra: Record<string, string> = {}): PipelineRun {
  const condition = {
    pending: undefined,
    running: { status: "Unknown" as const, reason: "Running" },
    succeeded: { status: "True" as const, reason: "Succeeded" },
    failed: { status: "False" as const, reason: "Failed", message: "Tasks Completed: 1 (Failed: 1)" },
    cancelled: { status: "False" as const, reason: "Cancelled", message: "PipelineRun cancelled" },
  }[state];
  return pipelineRun({
    name: `build-${lineage}-${n}`,
    labels: { "tekton-lineage.io/lineage-id": lineage },
    annotations: {
      "tekton-lineage.io/lineage": `pac/ns/repo/pull_request/7/${sha}/build`,
      "tekton-lineage.io/attempt": String(n),
      "pipelinesascode.tekton.dev/repository": "repo",
      "pipelinesascode.tekton.dev/sha": sha,
      "pipelinesascode.tekton.dev/original-prname": "build",
      "pipelinesascode.tekton.dev/source-branch": "feature",
      "pipelinesascode.tekton.dev/source-project-id": "1001",
      "pipelinesascode.tekton.dev/log-url": pacLink(n),
      ...extra,
    },
    status: state === "pending" ? "PipelineRunPending" : undefined,
    condition,
  });
}

/** The attempt counter of the lineage: attempt `last` was admitted (at 10:00:00, from PaC's repo). */
function counter(last: number, earlier: object[] = []): CachedLease {
  return {
    metadata: {
      namespace: "tekton-lineage",
      name: `tl-attempts-${lineage}`,
      labels: { "tekton-lineage.io/lineage-id": lineage, "tekton-lineage.io/run-namespace": "ns" },
      annotations: {
        "tekton-lineage.io/lineage": `pac/ns/repo/pull_request/7/${sha}/build`,
        "tekton-lineage.io/last-attempt": String(last),
        "tekton-lineage.io/last-name": `build-${lineage}-${last}`,
        "tekton-lineage.io/earlier-attempts": JSON.stringify(earlier),
        "tekton-lineage.io/last-subject": JSON.stringify({
          namespace: "ns",
          admittedAt: "2026-11-22T10:00:00Z",
          annotations: {
            "pipelinesascode.tekton.dev/repository": "repo",
            "pipelinesascode.tekton.dev/original-prname": "build",
            "pipelinesascode.tekton.dev/sha": sha,
          },
        }),
      },
    },
  };
}

const repository: Repository = {
  metadata: { namespace: "ns", name: "repo" },
  spec: {
    url: "https://gitlab.example/demo/app",
    git_provider: { url: "https://gitlab.example", secret: { name: "token", key: "t" } },
  },
};

/** PaC's Event for a create that failed (pipelineascode.go, Run), at `at`. */
function pacFailure(
  at: string,
  error = 'admission webhook "policy.example" denied the request: no',
): CachedEvent {
  return {
    metadata: { name: `repo.${at}`, namespace: "ns", resourceVersion: "1" },
    involvedObject: { kind: "Repository", name: "repo", namespace: "ns" },
    reason: "RepositoryPipelineRun",
    message: `There was an error starting the PipelineRun build-, creating pipelinerun build- in namespace ns has failed.\n\nTekton Controller has reported this error: \`\`\`${error}\`\`\``,
    lastTimestamp: new Date(at),
  };
}

function setup(
  runs: PipelineRun[],
  options: {
    counter?: CachedLease | number;
    clock?: () => number;
    events?: CachedEvent[];
    /** The projects the Repository's token may write (default: all). */
    writable?: number[];
    overrides?: Partial<GitLabReporterOptions>;
  } = {},
) {
  const model = new GitLabModel(() => new Date("2026-11-22T10:00:00Z"));
  model.addProject(1001, "demo/app");
  model.addProject(1000, "upstream/app");
  model.addCommit(1001, sha, "feature");
  model.addCommit(1000, sha, "refs/merge-requests/7/head");
  // PaC and tekton-lineage both use the Repository's token: one GitLab user.
  model.addToken("bot-token", "repository-bot", options.writable ?? "*");
  model.addToken("pac-token", "repository-bot", options.writable ?? "*");
  model.addToken("someone-token", "someone-else");
  const clients = new ModelClients(model, { "ns/token:t": "bot-token" });
  const writer = new RecordingRunWriter();
  const events = new RecordingEvents();
  const registry = new Registry();
  const cache = new MemoryCache<PipelineRun>(runs);
  const reporter = new GitLabReporter({
    runs: cache,
    counters: new MemoryCache<CachedLease>(
      options.counter === undefined
        ? []
        : [typeof options.counter === "number" ? counter(options.counter) : options.counter],
    ),
    countersNamespace: "tekton-lineage",
    creationFailures: new CreationFailures(new MemoryCache<CachedEvent>(options.events ?? [])),
    repositories: new MemoryCache<Repository>([repository]),
    clients,
    failingTasks: { of: async () => undefined },
    writer,
    events,
    metrics: createGitLabMetrics(registry),
    logger: silentLogger(),
    settings: {
      gitlabUrl: "",
      allowedHosts: ["gitlab.example"],
      application: "Pipelines as Code CI",
      contextTemplate: "{application} / {pipeline}",
    },
    links: {
      console: "https://console.example/{{ namespace }}/{{ pr }}",
      error: "https://errors.example/{lineage}",
    },
    pacConfig: () => defaultPacConfig,
    creationGraceMs: 30_000,
    resyncMs: 60_000,
    maxRepairs: 2,
    repairWindowMs: 600_000,
    clock: options.clock,
    random: () => 0.5,
    ...options.overrides,
  });
  const shown = () =>
    model.jobs.filter((j) => j.name === context && !j.retried).sort((a, b) => b.id - a.id)[0];
  const metric = async (name: string) =>
    (await registry.getSingleMetric(name)?.get())?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
  /** PaC posting as its CreateStatus does: no ref, the Repository's token. */
  const pacPosts = (params: { state: string; name?: string; description: string; target_url: string }) =>
    model.postStatus("pac-token", "1001", sha, { name: context, ...params });
  return { model, clients, writer, events, reporter, cache, shown, metric, pacPosts };
}

/** PaC's failure status before v0.39: the bare application name, linked to the console root. */
const pacBareFailure = {
  name: "Pipelines as Code CI",
  state: "failed",
  description: "failed",
  target_url: "https://console.example/",
};

describe("GitLabReporter.reconcile", () => {
  it.each([
    ["a running attempt", [attempt(1)], "running", "attempt 1 running"],
    ["a waiting attempt", [attempt(1, "pending")], "pending", "attempt 1 pending (not started yet)"],
    ["a succeeded attempt", [attempt(1, "succeeded")], "success", "attempt 1 succeeded"],
    [
      "a failed attempt",
      [attempt(1, "failed")],
      "failed",
      "attempt 1 failed (Failed): Tasks Completed: 1 (Failed: 1)",
    ],
    ["the latest of two", [attempt(1, "failed"), attempt(2)], "running", "attempt 2 running"],
  ])("shows %s with its link, and comes back for a resync", async (_name, runs, state, description) => {
    const { reporter, shown } = setup(runs);
    const result = await reporter.reconcile(key);
    const latest = runs.at(-1)?.metadata.name;
    expect(shown()).toMatchObject({
      status: state,
      description,
      target_url: `https://console.example/ns/${latest}`,
    });
    expect(result.requeueAfterMs).toBe(60_000);
  });

  it("closes an earlier attempt's open status as superseded before showing the newer one", async () => {
    const { reporter, model, cache, shown } = setup([attempt(1)]);
    await reporter.reconcile(key);
    cache.set(attempt(2));
    await reporter.reconcile(key);
    expect(model.jobs.map((j) => [j.status, j.description, j.retried])).toEqual([
      ["canceled", "attempt 1 superseded by attempt 2 (build-abcdefghij-2)", true],
      ["running", "attempt 2 running", false],
    ]);
    expect(shown()?.target_url).toBe("https://console.example/ns/build-abcdefghij-2");
  });

  it("reports an attempt PaC could not create, in the API server's words, once its run has not come", async () => {
    const clock = { now: 0 };
    const { reporter, shown, events } = setup([attempt(1, "succeeded")], {
      counter: 2,
      clock: () => clock.now,
      events: [pacFailure("2026-11-22T10:00:02Z")],
    });
    // PaC's record names no commit: until the grace passes it may be another commit's failure. Attempt
    // 1's success is not written meanwhile: attempt 2 may be the latest, and it has not succeeded.
    expect((await reporter.reconcile(key)).requeueAfterMs).toBe(30_050);
    expect(shown()).toBeUndefined();
    clock.now = 30_000;
    await reporter.reconcile(key);
    await reporter.reconcile(key);
    expect(shown()).toMatchObject({
      status: "failed",
      description:
        'attempt 2 could not be created: admission webhook "policy.example" denied the request: no',
      target_url: `https://errors.example/${lineage}`,
    });
    expect(events.summary).toEqual(["CreationFailed build-abcdefghij-2"]);
  });

  it("never reports an attempt nobody says failed: holds the older success during the grace, then keeps the newest run", async () => {
    const clock = { now: 0 };
    const { reporter, shown, events } = setup([attempt(1, "succeeded")], {
      counter: 2,
      clock: () => clock.now,
    });
    expect((await reporter.reconcile(key)).requeueAfterMs).toBe(30_050);
    expect(shown()).toBeUndefined();
    clock.now = 30_000;
    await reporter.reconcile(key);
    expect(shown()).toMatchObject({ status: "success", description: "attempt 1 succeeded" });
    expect(events.summary).toEqual([]);
  });

  it("reads GitLab again soon after PaC recorded a failed create: PaC's status of it may land after ours", async () => {
    const clock = { now: 0 };
    const collision = `pipelineruns.tekton.dev "build-${lineage}-2" already exists`;
    const { reporter, shown, pacPosts } = setup([attempt(1, "succeeded")], {
      counter: 2,
      clock: () => clock.now,
      events: [pacFailure("2026-11-22T10:00:02Z", collision)],
    });
    const first = await reporter.reconcile(key);
    expect(shown()?.description).toBe(`attempt 2 could not be created: ${collision}`);
    // PaC posts its own failure after its Event: a new job that replaces tekton-lineage's.
    pacPosts({ state: "failed", description: "failed", target_url: "https://console.example/" });
    expect(shown()?.description).toBe("failed");
    expect(first.requeueAfterMs).toBeLessThanOrEqual(1010);
    clock.now = 1010;
    await reporter.reconcile(key);
    expect(shown()).toMatchObject({
      status: "failed",
      description: `attempt 2 could not be created: ${collision}`,
    });
  });

  it("leaves GitLab alone when every run of the lineage was pruned", async () => {
    const { reporter, model } = setup([], { counter: 3 });
    await reporter.reconcile(key);
    expect(model.jobs).toEqual([]);
  });

  it("repairs another writer's change at most maxRepairs times per window, then stops contesting", async () => {
    const clock = { now: 0 };
    const { reporter, model, shown, metric } = setup([attempt(1)], { clock: () => clock.now });
    await reporter.reconcile(key);
    const stale = () =>
      model.postStatus("bot-token", "1001", sha, {
        state: "failed",
        name: context,
        description: "failed",
      });
    for (let i = 0; i < 3; i++) {
      stale();
      clock.now += 60_000; // the resync: GitLab is read again
      await reporter.reconcile(key);
    }
    expect(await metric("tekton_lineage_gitlab_repairs_total")).toBe(2);
    expect(await metric("tekton_lineage_gitlab_problems_total")).toBe(1);
    expect(shown()?.status).toBe("failed");
  });

  it("waits on a host that does not answer without counting the lineage's failures", async () => {
    const { reporter, clients, shown } = setup([attempt(1)]);
    clients.gate.unreachable("https://gitlab.example");
    for (let i = 0; i < 5; i++) clients.failures.push(new GitLabError(0, "no answer", 500));
    const delays: (number | undefined)[] = [];
    for (let i = 0; i < 5; i++) delays.push((await reporter.reconcile(key)).requeueAfterMs);
    // The same short wait every time: the host's window, not a backoff growing per try.
    expect(new Set(delays).size).toBe(1);
    expect(delays[0]).toBeLessThan(1000);
    await reporter.reconcile(key);
    expect(shown()?.status).toBe("running");
  });

  it("reads a refused token's Secret again and says so once", async () => {
    const { reporter, clients, metric } = setup([attempt(1)]);
    clients.failures.push(new GitLabError(401, "401 Unauthorized"), new GitLabError(401, "401 Unauthorized"));
    const first = await reporter.reconcile(key);
    const second = await reporter.reconcile(key);
    expect([first.requeueAfterMs, second.requeueAfterMs]).toEqual([5_000, 10_000]);
    expect(clients.forgotten).toHaveLength(2);
    expect(await metric("tekton_lineage_gitlab_problems_total")).toBe(1);
  });

  it("keeps the pipeline id GitLab answered on every run of the lineage", async () => {
    const { reporter, writer, model } = setup([attempt(1, "failed"), attempt(2)]);
    await reporter.reconcile(key);
    const id = String(model.pipelines[0]?.id);
    expect(writer.actions).toEqual([
      {
        action: "annotate",
        run: "ns/build-abcdefghij-1",
        annotations: { "tekton-lineage.io/gitlab-pipeline-id": id },
      },
      {
        action: "annotate",
        run: "ns/build-abcdefghij-2",
        annotations: { "tekton-lineage.io/gitlab-pipeline-id": id },
      },
    ]);
  });

  it("never lets an older attempt's final report from PaC win, whatever the repair budget", async () => {
    const clock = { now: 0 };
    const older = [1, 2, 3, 4];
    const { reporter, cache, shown, pacPosts, metric } = setup(
      [...older.map((n) => attempt(n)), attempt(5)],
      {
        clock: () => clock.now,
      },
    );
    await reporter.reconcile(key);
    expect(shown()).toMatchObject({ status: "running", description: "attempt 5 running" });
    for (const n of older) {
      // An older attempt ends; PaC's watcher posts its final status on the same name, and GitLab applies it
      // to the open job of the same user: attempt 5's.
      cache.set(attempt(n, n % 2 === 0 ? "cancelled" : "failed"));
      pacPosts({
        state: "canceled",
        description: "cancelled validating this commit",
        target_url: pacLink(n),
      });
      expect(shown()).toMatchObject({ status: "canceled", target_url: pacLink(n) });
      const first = await reporter.reconcile(key);
      // Read again soon after the run ended (PaC's watcher posts then), not only at the next resync.
      expect(first.requeueAfterMs).toBeLessThanOrEqual(1010);
      clock.now += first.requeueAfterMs ?? 0;
      await reporter.reconcile(key);
      expect(shown()).toMatchObject({ status: "running", description: "attempt 5 running" });
      clock.now += 60_000;
    }
    // Four repairs, each of an older attempt's report: maxRepairs (2) did not stop them.
    expect(await metric("tekton_lineage_gitlab_repairs_total")).toBe(4);
    expect(await metric("tekton_lineage_gitlab_problems_total")).toBe(0);
  });

  it("leaves PaC's own status of the latest run alone, in PaC's words", async () => {
    const { reporter, model, pacPosts } = setup([attempt(1)]);
    pacPosts({ state: "running", description: "", target_url: pacLink(1) });
    await reporter.reconcile(key);
    expect(model.jobs.map((j) => [j.status, j.target_url])).toEqual([["running", pacLink(1)]]);
  });

  const fork = (extra: Record<string, string> = {}) =>
    attempt(1, "running", {
      "pipelinesascode.tekton.dev/target-project-id": "1000",
      "pipelinesascode.tekton.dev/pull-request": "7",
      ...extra,
    });
  const upstream: Repository = {
    ...repository,
    spec: { ...repository.spec, url: "https://gitlab.example/upstream/app" },
  };

  it("reports to the target project when the token may not write to the source project (a fork)", async () => {
    const { reporter, model, clients } = setup([fork()], {
      writable: [1000],
      overrides: { repositories: new MemoryCache<Repository>([upstream]) },
    });
    clients.mergeRequests.set("1000/7", 1001);
    await reporter.reconcile(key);
    expect(model.jobs.map((j) => [j.project_id, j.ref, j.status])).toEqual([
      [1000, "refs/merge-requests/7/head", "running"],
    ]);
  });

  it.each<[string, Record<string, string>, number | undefined, string]>([
    [
      "a target project that is not its Repository's (another team's merge request)",
      { "pipelinesascode.tekton.dev/target-project-id": "4242" },
      1001,
      "the run names project 4242, but its Repository's project is 1000",
    ],
    [
      "a source project the merge request does not come from",
      { "pipelinesascode.tekton.dev/source-project-id": "3003" },
      1001,
      "merge request !7 of project 1000 comes from project 1001, not 3003",
    ],
    ["a merge request GitLab does not know", {}, undefined, "merge request !7 of project 1000 was not found"],
  ])(
    "writes nothing for a run whose annotations name %s, and says so on the run",
    async (_what, extra, source, why) => {
      const { reporter, model, clients, events, metric } = setup([fork(extra)], {
        overrides: { repositories: new MemoryCache<Repository>([upstream]) },
      });
      if (source !== undefined) clients.mergeRequests.set("1000/7", source);
      await reporter.reconcile(key);
      expect(model.jobs).toEqual([]);
      expect(events.events.map((e) => [e.reason, e.message])).toEqual([
        ["GitLabTargetRefused", `tekton-lineage writes no status for this run: ${why}`],
      ]);
      expect(await metric("tekton_lineage_gitlab_problems_total")).toBe(1);
    },
  );

  it("takes over PaC's bare failure status once a retest succeeded, in the API server's words", async () => {
    const collision = `pipelineruns.tekton.dev "build-${lineage}-1" already exists`;
    const earlier = [{ attempt: 1, name: `build-${lineage}-1`, admittedAt: "2026-11-22T10:00:00Z" }];
    const { reporter, model, events, pacPosts } = setup([attempt(2, "succeeded")], {
      counter: counter(2, earlier),
      events: [pacFailure("2026-11-22T10:00:01Z", collision)],
    });
    // Before v0.39, PaC's failure names no pipeline: the bare application name, linked to the console root.
    pacPosts(pacBareFailure);
    await reporter.reconcile(key);
    await reporter.corrector.reconcile(`ns/repo/${sha}`);
    const bare = model.jobs.filter((j) => j.name === "Pipelines as Code CI");
    expect(bare.map((j) => [j.status, j.description, j.target_url, j.retried])).toEqual([
      ["failed", "failed", "https://console.example/", true],
      [
        "success",
        `attempt 2 succeeded; attempt 1 could not be created: ${collision}`,
        `https://console.example/ns/build-${lineage}-2`,
        false,
      ],
    ]);
    expect(model.pipelinesOf("1001", sha).map((p) => p.status)).toEqual(["success"]);
    expect(events.summary).toEqual(["PacStatusCorrected repo"]);
    // Once corrected, nothing more is written.
    await reporter.corrector.reconcile(`ns/repo/${sha}`);
    expect(model.jobs.filter((j) => j.name === "Pipelines as Code CI")).toHaveLength(2);
  });

  it("takes PaC's bare failure over for a create made while tekton-lineage was down, once a retest is admitted", async () => {
    // PaC's create failed at 10:00:01, unadmitted (tekton-lineage was down); the retest was admitted at 10:02.
    const collision = 'pipelineruns.tekton.dev "build-x7k2p" already exists';
    const retest = counter(1);
    const annotations = retest.metadata.annotations ?? {};
    annotations["tekton-lineage.io/last-subject"] = (
      annotations["tekton-lineage.io/last-subject"] ?? ""
    ).replace("2026-11-22T10:00:00Z", "2026-11-22T10:02:00Z");
    const { reporter, model, pacPosts } = setup([attempt(1, "succeeded")], {
      counter: retest,
      events: [pacFailure("2026-11-22T10:00:01Z", collision)],
    });
    pacPosts(pacBareFailure);
    await reporter.reconcile(key);
    await reporter.corrector.reconcile(`ns/repo/${sha}`);
    expect(
      model.jobs.filter((j) => j.name === "Pipelines as Code CI" && !j.retried).map((j) => j.description),
    ).toEqual([`attempt 1 succeeded; an earlier attempt could not be created: ${collision}`]);
  });

  it("looks again for PaC's bare status when its Event came first, while PaC may still post it", async () => {
    const collision = `pipelineruns.tekton.dev "build-${lineage}-1" already exists`;
    const earlier = [{ attempt: 1, name: `build-${lineage}-1`, admittedAt: "2026-11-22T10:00:00Z" }];
    const wall = { now: Date.parse("2026-11-22T10:00:02Z") };
    const { reporter, model, pacPosts } = setup([attempt(2, "succeeded")], {
      counter: counter(2, earlier),
      events: [pacFailure("2026-11-22T10:00:01Z", collision)],
      overrides: { wallClock: () => wall.now },
    });
    await reporter.reconcile(key);
    const commit = `ns/repo/${sha}`;
    // PaC records its Event, then posts: tekton-lineage may see the Event before the status exists.
    expect((await reporter.corrector.reconcile(commit)).requeueAfterMs).toBe(1000);
    expect((await reporter.corrector.reconcile(commit)).requeueAfterMs).toBe(2000);
    pacPosts(pacBareFailure);
    await reporter.corrector.reconcile(commit);
    const shownBare = () =>
      model.jobs.filter((j) => j.name === "Pipelines as Code CI" && !j.retried).map((j) => j.status);
    expect(shownBare()).toEqual(["success"]);
    // PaC v0.39 and later post no bare status at all: the looking stops once PaC would have posted it.
    wall.now += 600_000;
    const { reporter: later } = setup([attempt(2, "succeeded")], {
      counter: counter(2, earlier),
      events: [pacFailure("2026-11-22T10:00:01Z", collision)],
      overrides: { wallClock: () => wall.now },
    });
    await later.reconcile(key);
    expect((await later.corrector.reconcile(commit)).requeueAfterMs).toBeUndefined();
  });

  it("follows PaC's application name and links when no flag says otherwise", async () => {
    const { reporter, model } = setup([attempt(1)], {
      overrides: {
        settings: {
          gitlabUrl: "",
          allowedHosts: ["gitlab.example"],
          contextTemplate: "{application} / {pipeline}",
        },
        links: {},
        pacConfig: () => readPacConfig({ "application-name": "Konflux Production Internal" }),
      },
    });
    await reporter.reconcile(key);
    expect(model.jobs.map((j) => [j.name, j.target_url])).toEqual([
      ["Konflux Production Internal / build", pacLink(1)],
    ]);
  });

  it("repairs after another user's status retired its open job (which still takes its posts)", async () => {
    const clock = { now: 0 };
    const { reporter, model, shown } = setup([attempt(1)], { clock: () => clock.now });
    await reporter.reconcile(key);
    model.postStatus("someone-token", "1001", sha, { state: "failed", name: context, description: "failed" });
    expect(shown()).toMatchObject({ status: "failed" });
    clock.now += 60_000;
    await reporter.reconcile(key);
    expect(shown()).toMatchObject({ status: "running", description: "attempt 1 running" });
    expect(model.jobs.map((j) => [j.author.username, j.status, j.retried])).toEqual([
      ["repository-bot", "canceled", true],
      ["someone-else", "failed", true],
      ["repository-bot", "running", false],
    ]);
  });
});
