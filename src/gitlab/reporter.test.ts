import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { GitLabModel } from "../../test/fakes/gitlab/model.ts";
import { ModelClients } from "../../test/fakes/gitlab/model-api.ts";
import type { Repository } from "../core/repository.ts";
import type { PipelineRun } from "../core/tekton.ts";
import type { CachedEvent } from "../kube/event-source.ts";
import type { CachedLease } from "../kube/leases.ts";
import { silentLogger } from "../observability/logger.ts";
import { CreationFailures } from "../pac/creation-failures.ts";
import { MemoryCache } from "../testing/memory-cache.ts";
import { RecordingRunWriter } from "../testing/recording-run-writer.ts";
import { pipelineRun, RecordingEvents } from "../testing/runs.ts";
import { GitLabError } from "./api.ts";
import { createGitLabMetrics } from "./metrics.ts";
import { GitLabReporter } from "./reporter.ts";

const sha = "4d6f1f0c2b1e8a7d9c3b5a4f6e8d7c9b1a2f3e4d";
const lineage = "abcdefghij";
const context = "Pipelines as Code CI / build";
const key = `ns/${lineage}`;

function attempt(n: number, state: "pending" | "running" | "succeeded" | "failed" = "running"): PipelineRun {
  const condition = {
    pending: undefined,
    running: { status: "Unknown" as const, reason: "Running" },
    succeeded: { status: "True" as const, reason: "Succeeded" },
    failed: { status: "False" as const, reason: "Failed", message: "Tasks Completed: 1 (Failed: 1)" },
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
    },
    status: state === "pending" ? "PipelineRunPending" : undefined,
    condition,
  });
}

/** The attempt counter of the lineage: attempt `last` was admitted (at 10:00:00, from PaC's repo). */
function counter(last: number): CachedLease {
  return {
    metadata: {
      namespace: "tekton-lineage",
      name: `tl-attempts-${lineage}`,
      labels: { "tekton-lineage.io/lineage-id": lineage, "tekton-lineage.io/run-namespace": "ns" },
      annotations: {
        "tekton-lineage.io/lineage": `pac/ns/repo/pull_request/7/${sha}/build`,
        "tekton-lineage.io/last-attempt": String(last),
        "tekton-lineage.io/last-name": `build-${lineage}-${last}`,
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
function pacFailure(at: string): CachedEvent {
  return {
    metadata: { name: `repo.${at}`, namespace: "ns", resourceVersion: "1" },
    involvedObject: { kind: "Repository", name: "repo", namespace: "ns" },
    reason: "RepositoryPipelineRun",
    message:
      'There was an error starting the PipelineRun build-, creating pipelinerun build- in namespace ns has failed.\n\nTekton Controller has reported this error: ```admission webhook "policy.example" denied the request: no```',
    lastTimestamp: new Date(at),
  };
}

function setup(
  runs: PipelineRun[],
  options: { counter?: number; clock?: () => number; events?: CachedEvent[] } = {},
) {
  const model = new GitLabModel(() => new Date("2026-11-22T10:00:00Z"));
  model.addProject(1001, "demo/app");
  model.addToken("bot-token", "tekton-lineage-bot");
  model.addToken("pac-token", "pipelines-as-code");
  const clients = new ModelClients(model, { "ns/token:t": "bot-token" });
  const writer = new RecordingRunWriter();
  const events = new RecordingEvents();
  const registry = new Registry();
  const cache = new MemoryCache<PipelineRun>(runs);
  const reporter = new GitLabReporter({
    runs: cache,
    counters: new MemoryCache<CachedLease>(options.counter ? [counter(options.counter)] : []),
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
    creationGraceMs: 30_000,
    resyncMs: 60_000,
    maxRepairs: 2,
    repairWindowMs: 600_000,
    clock: options.clock,
    random: () => 0.5,
  });
  const shown = () =>
    model.jobs.filter((j) => j.name === context && !j.retried).sort((a, b) => b.id - a.id)[0];
  const metric = async (name: string) =>
    (await registry.getSingleMetric(name)?.get())?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
  return { model, clients, writer, events, reporter, cache, shown, metric };
}

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
    // PaC's record names no commit: until the grace passes it may be another commit's failure.
    expect((await reporter.reconcile(key)).requeueAfterMs).toBe(30_050);
    expect(shown()).toMatchObject({ status: "success", description: "attempt 1 succeeded" });
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

  it("never reports an attempt nobody says failed: looks again during the grace, then keeps the newest run", async () => {
    const clock = { now: 0 };
    const { reporter, shown, events } = setup([attempt(1, "succeeded")], {
      counter: 2,
      clock: () => clock.now,
    });
    expect((await reporter.reconcile(key)).requeueAfterMs).toBe(30_050);
    expect(shown()).toMatchObject({ status: "success", description: "attempt 1 succeeded" });
    clock.now = 30_000;
    await reporter.reconcile(key);
    expect(shown()).toMatchObject({ status: "success", description: "attempt 1 succeeded" });
    expect(events.summary).toEqual([]);
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
        ref: "feature",
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
});
