/** A lineage reporter and PaC failure corrector over the fake GitLab, with a lineage's runs and counter. */
import { Registry } from "prom-client";
import { GitLabModel } from "../../test/fakes/gitlab/model.ts";
import { ModelClients } from "../../test/fakes/gitlab/model-api.ts";
import type { Repository } from "../core/repository.ts";
import type { PipelineRun } from "../core/tekton.ts";
import { createGitLabMetrics } from "../gitlab/metrics.ts";
import { PacFailureCorrector } from "../gitlab/pac-failure/pac-failure-corrector.ts";
import { LineageReporter, type LineageReporterOptions } from "../gitlab/status/lineage-reporter.ts";
import type { CachedEvent } from "../kube/event-source.ts";
import type { CachedLease } from "../kube/leases.ts";
import { silentLogger } from "../observability/logger.ts";
import { defaultPacConfig } from "../pac/config.ts";
import { CreationFailures } from "../pac/creation-failures.ts";
import { MemoryCache } from "./memory-cache.ts";
import { RecordingRunWriter } from "./recording-run-writer.ts";
import { pipelineRun, RecordingEvents } from "./runs.ts";

export const sha = "4d6f1f0c2b1e8a7d9c3b5a4f6e8d7c9b1a2f3e4d";
export const lineage = "abcdefghij";
export const context = "Pipelines as Code CI / build";
export const key = `ns/${lineage}`;

export type RunState = "pending" | "running" | "succeeded" | "failed" | "cancelled";
/** PaC's own link for a run (its log-url annotation). */
export const pacLink = (n: number) => `https://pac.example/ns/build-${lineage}-${n}`;

export function attempt(
  n: number,
  state: RunState = "running",
  extra: Record<string, string> = {},
): PipelineRun {
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
export function counter(last: number, earlier: object[] = []): CachedLease {
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

export const repository: Repository = {
  metadata: { namespace: "ns", name: "repo" },
  spec: {
    url: "https://gitlab.example/demo/app",
    git_provider: { url: "https://gitlab.example", secret: { name: "token", key: "t" } },
  },
};

/** PaC's Event for a create that failed (pipelineascode.go, Run), at `at`. */
export function pacFailure(
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

export function setup(
  runs: PipelineRun[],
  options: {
    counter?: CachedLease | number;
    clock?: () => number;
    events?: CachedEvent[];
    /** The projects the Repository's token may write (default: all). */
    writable?: number[];
    overrides?: Partial<LineageReporterOptions>;
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
  const metrics = createGitLabMetrics(registry);
  const corrector = new PacFailureCorrector({
    clients,
    events,
    metrics,
    logger: silentLogger(),
    resyncMs: 60_000,
    wallClock: options.overrides?.wallClock,
    random: () => 0.5,
  });
  const counters = new MemoryCache<CachedLease>(
    options.counter === undefined
      ? []
      : [typeof options.counter === "number" ? counter(options.counter) : options.counter],
  );
  const reporterOptions: LineageReporterOptions = {
    bareStatuses: corrector,
    runs: cache,
    counters,
    countersNamespace: "tekton-lineage",
    creationFailures: new CreationFailures(new MemoryCache<CachedEvent>(options.events ?? [])),
    repositories: new MemoryCache<Repository>([repository]),
    clients,
    failingTasks: { of: async () => undefined },
    writer,
    events,
    metrics,
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
  };
  const reporter = new LineageReporter(reporterOptions);
  /** Another reporter over the same caches and GitLab: a restarted process, or a bucket's next owner. */
  const nextReporter = () => new LineageReporter(reporterOptions);
  const shown = () =>
    model.jobs.filter((j) => j.name === context && !j.retried).sort((a, b) => b.id - a.id)[0];
  const metric = async (name: string) =>
    (await registry.getSingleMetric(name)?.get())?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
  /** PaC posting as its CreateStatus does: no ref, the Repository's token. */
  const pacPosts = (params: { state: string; name?: string; description: string; target_url: string }) =>
    model.postStatus("pac-token", "1001", sha, { name: context, ...params });
  return {
    model,
    clients,
    writer,
    events,
    reporter,
    nextReporter,
    corrector,
    cache,
    counters,
    shown,
    metric,
    pacPosts,
  };
}

/** PaC's failure status before v0.39: the bare application name, linked to the console root. */
export const pacBareFailure = {
  name: "Pipelines as Code CI",
  state: "failed",
  description: "failed",
  target_url: "https://console.example/",
};
