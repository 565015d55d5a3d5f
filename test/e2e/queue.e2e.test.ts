import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, loadYaml } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineRun } from "../../src/core/tekton.ts";
import { apiFailure } from "../../src/kube/api-errors.ts";
import type { FakeGitLab } from "../fakes/gitlab/server.ts";
import { createdRuns, type MergeRequest, PacEmulator } from "../fakes/pac/emulator.ts";
import { canI } from "./support/can-i.ts";
import { tektonLineageCli } from "./support/cli.ts";
import { adminKubeConfig, e2eContext } from "./support/context.ts";
import { gitProviderOf, newCommit, projectId, startFakeGitLab } from "./support/gitlab.ts";
import { kubectlApply } from "./support/manifests.ts";
import { pacPipelineRun, pipelineRuns } from "./support/pipelineruns.ts";
import { eventually } from "./support/poll.ts";
import { createRepository } from "./support/repositories.ts";
import { createSuite } from "./support/suite.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";
import { TektonSimulator } from "./support/tekton-simulator.ts";
import {
  bindRole,
  grantPipelineRunAccess,
  kubeConfigAs,
  kubeconfigFileAs,
  userSubject,
} from "./support/users.ts";
import { type RegisteredWebhooks, registerAndServe } from "./support/webhooks.ts";

const suite = createSuite("queue");
const admin = adminKubeConfig();
const runs = pipelineRuns(admin);
let namespace: string;
let lineage: LineageProcess;
let webhooks: RegisteredWebhooks;
let tekton: TektonSimulator;
let gitlab: FakeGitLab;
let pac: PacEmulator;

const sha = () => randomBytes(20).toString("hex");
const isPending = (run: PipelineRun) => run.spec?.status === "PipelineRunPending";

beforeAll(async () => {
  namespace = await suite.namespace("runs");
  await createRepository(admin, {
    namespace,
    name: "repo",
    annotations: { "tekton-lineage.io/queue": "enabled", "tekton-lineage.io/concurrency-limit": "2" },
  });
  gitlab = await startFakeGitLab(namespace);
  const gitProvider = gitProviderOf(gitlab);
  // PaC's own queue (limit 1); an opt-in PaC overrides; an opt-in PaC sets no limit on (tekton-lineage's, 1).
  await createRepository(admin, { namespace, name: "pac-owned", concurrencyLimit: 1, gitProvider });
  await createRepository(admin, {
    namespace,
    name: "both",
    concurrencyLimit: 1,
    gitProvider,
    annotations: { "tekton-lineage.io/queue": "enabled", "tekton-lineage.io/concurrency-limit": "2" },
  });
  await createRepository(admin, {
    namespace,
    name: "pac-queue",
    gitProvider,
    annotations: { "tekton-lineage.io/queue": "enabled", "tekton-lineage.io/concurrency-limit": "1" },
  });
  lineage = await startTektonLineage({
    role: "all",
    args: [
      `--watch-namespaces=${namespace}`,
      `--pac-namespace=${namespace}`,
      `--gitlab-hosts=${new URL(gitlab.url).host}`,
      "--queue-position-delay=100ms",
      "--leader-lease-duration=3s",
      "--leader-renew-deadline=2s",
      "--leader-retry-period=500ms",
    ],
  });
  webhooks = await registerAndServe({
    suite: suite.id,
    port: lineage.port,
    mutatingFailurePolicy: "Fail",
    namespace,
    processes: lineage,
  });
  await createRepository(admin, {
    namespace,
    name: "slow",
    annotations: { "tekton-lineage.io/queue": "enabled", "tekton-lineage.io/concurrency-limit": "1" },
  });
  tekton = new TektonSimulator(admin, [namespace], (run) => ({
    durationMs: ["slow", "impatient"].includes(
      run.metadata.annotations?.["pipelinesascode.tekton.dev/repository"] ?? "",
    )
      ? 120_000
      : 400,
    succeeded: true,
  }));
  await tekton.start();
  await grantPipelineRunAccess(namespace, "alice");
  pac = await new PacEmulator({
    kubeConfig: admin,
    namespaces: [namespace],
    gitlabUrl: gitlab.url,
    version: "v0.50",
    config: {},
    pacNamespace: namespace,
  }).start();
});

afterAll(async () => {
  await pac?.stop();
  tekton?.stop();
  await gitlab?.stop();
  await webhooks?.remove();
  await lineage?.stop();
  await suite.cleanup();
});

describe("a repository opted in to tekton-lineage's queue (limit 2)", () => {
  it("starts two at once, makes the rest wait, and starts them in order as slots free", async () => {
    const created: PipelineRun[] = [];
    for (let i = 0; i < 6; i++)
      created.push(await runs.create(pacPipelineRun({ namespace, sha: sha(), repository: "repo" })));
    expect(created.map(isPending)).toEqual([false, false, true, true, true, true]);
    expect(created.map((r) => r.metadata.annotations?.["tekton-lineage.io/queue-ticket"])).toEqual([
      "1",
      "2",
      "3",
      "4",
      "5",
      "6",
    ]);
    expect(created[2]?.metadata.annotations?.["tekton-lineage.io/pending-by-queue"]).toBe("true");
    const names = created.map((r) => `${namespace}/${r.metadata.name}`);
    await eventually("every run to finish", () => tekton.finished.length >= 6, { timeoutMs: 30_000 });
    expect(tekton.started.map((s) => s.run)).toEqual(names);
    // Never more than two running at once.
    expect(tekton.mostRunningAtOnce()).toBeLessThanOrEqual(2);
    const last = await runs.get(namespace, created[5]?.metadata.name ?? "");
    expect(last.metadata.annotations?.["tekton-lineage.io/queue-decision"]).toMatch(
      /^started by queue pac\/.+\/repo after waiting/,
    );
    // Four runs waited and were started by the queue. The counter moves once the start's patch has been
    // answered, which can be after Tekton saw the run start: wait for it, then check it did not overshoot.
    const promotions = () => lineage.metric("tekton_lineage_queue_promotions_total");
    await eventually("four promotions to be counted", async () => (await promotions()) >= 4);
    expect(await promotions()).toBe(4);
  });

  it("shows each queue, its limit, who runs and who waits, as text and as JSON", async () => {
    const held = [];
    for (let i = 0; i < 4; i++)
      held.push(await runs.create(pacPipelineRun({ namespace, sha: sha(), repository: "repo" })));
    const text = await tektonLineageCli("queue", "list", "--namespace=tekton-lineage");
    expect(text).toContain(`pac/${namespace}/repo  limit 2`);
    // The JSON view: read through the caller's own rights, never served unauthenticated.
    const view = JSON.parse(
      await tektonLineageCli("queue", "list", "--namespace=tekton-lineage", "--output=json"),
    ) as {
      queues: { key: string; limit: number }[];
    };
    expect(view.queues.find((q) => q.key === `pac/${namespace}/repo`)?.limit).toBe(2);
    await eventually(
      "the burst to drain",
      async () => (await runs.list(namespace)).every((r) => !isPending(r)),
      { timeoutMs: 30_000 },
    );
  });
  it("answers `kubectl lineage` as kubectl finds it, with kubectl's flags, for a person with its view role", async () => {
    // kubectl finds a plugin on the PATH by name: a kubectl-lineage that runs dist/kubectl-lineage.js.
    const bin = mkdtempSync(join(e2eContext().logDir, "plugin-"));
    const plugin = fileURLToPath(new URL("../../dist/kubectl-lineage.js", import.meta.url));
    writeFileSync(join(bin, "kubectl-lineage"), `#!/bin/sh\nexec "${process.execPath}" "${plugin}" "$@"\n`, {
      mode: 0o755,
    });
    const kubectl = (...args: string[]) =>
      execFileSync(e2eContext().kubectl, args, {
        encoding: "utf8",
        env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` },
        // `plugin list` warns on stderr about every PATH folder that does not exist: kept out of the log.
        stdio: ["ignore", "pipe", "pipe"],
      });
    expect(kubectl("plugin", "list")).toContain("kubectl-lineage");
    // dora holds tekton-lineage-view where tekton-lineage runs and where her runs are, as its aggregation
    // into the built-in view role gives her (the local control plane runs no aggregation controller).
    kubectlApply(
      readFileSync(
        fileURLToPath(new URL("../../webhook-config/base/rbac-users.yaml", import.meta.url)),
        "utf8",
      ),
    );
    for (const ns of ["tekton-lineage", namespace])
      await bindRole(admin, ns, {
        name: "dora-lineage-view",
        role: { kind: "ClusterRole", name: "tekton-lineage-view" },
        subject: userSubject("dora"),
      });
    expect(canI("dora", "list", "leases.coordination.k8s.io", "tekton-lineage")).toBe("yes");
    expect(canI("dora", "patch", "pipelineruns.tekton.dev", namespace)).toBe("no");
    const dora = kubeconfigFileAs("dora", "dora");
    const held = await runs.create(pacPipelineRun({ namespace, sha: sha(), repository: "repo" }));
    const listed = loadYaml(kubectl("lineage", "queue", "list", "-o", "yaml", `--kubeconfig=${dora}`)) as {
      queues: { key: string; limit: number }[];
    };
    expect(listed.queues.find((q) => q.key === `pac/${namespace}/repo`)?.limit).toBe(2);
    // -n is the runs' namespace, as in kubectl; tekton-lineage's own is --lineage-namespace.
    const explained = JSON.parse(
      kubectl(
        "lineage",
        "explain",
        held.metadata.name ?? "",
        "-n",
        namespace,
        "-o",
        "json",
        `--kubeconfig=${e2eContext().kubeconfig}`,
      ),
    ) as { lineage: { id: string; namespace: string } }[];
    expect(explained.map((e) => [e.lineage.namespace, e.lineage.id])).toEqual([
      [namespace, held.metadata.labels?.["tekton-lineage.io/lineage-id"]],
    ]);
    expect(JSON.parse(kubectl("lineage", "version", "-o", "json")).clientVersion.version).toMatch(
      /^\d+\.\d+\.\d+/,
    );
  });
});

describe("a slow repository (limit 1, runs that take a minute)", () => {
  const slowRun = (extra: Record<string, string> = {}) =>
    pacPipelineRun({ namespace, sha: sha(), repository: "slow", extraAnnotations: extra });

  it("refuses to let anyone but tekton-lineage start a waiting run; cancelling it is fine", async () => {
    await runs.create(slowRun());
    const waiting = await runs.create(slowRun());
    expect(isPending(waiting)).toBe(true);
    const alice = pipelineRuns(kubeConfigAs("alice"));
    const name = waiting.metadata.name ?? "";
    const started = await alice.patch(namespace, name, [{ op: "remove", path: "/spec/status" }]).then(
      () => undefined,
      (error: unknown) => apiFailure(error),
    );
    expect(started?.code).toBe(403);
    expect(started?.message).toMatch(/waits in queue pac\/.+\/slow .* set spec.status to Cancelled/);
    await alice.patch(namespace, name, [{ op: "replace", path: "/spec/status", value: "Cancelled" }]);
    await eventually("the cancelled run to leave the line", async () =>
      (await runs.get(namespace, name)).metadata.annotations?.[
        "tekton-lineage.io/queue-decision"
      ]?.startsWith("cancelled while waiting"),
    );
  });

  it("cancels older attempts of a lineage when a newer one asks for cancel-in-progress", async () => {
    const commit = sha();
    const older = await runs.create(pacPipelineRun({ namespace, sha: commit, repository: "slow" }));
    const newer = await runs.create(
      pacPipelineRun({
        namespace,
        sha: commit,
        repository: "slow",
        extraAnnotations: { "pipelinesascode.tekton.dev/cancel-in-progress": "true" },
      }),
    );
    expect(newer.metadata.annotations?.["tekton-lineage.io/supersedes"]).toBe(older.metadata.name);
    const cancelled = await eventually("the older attempt to be cancelled", async () => {
      const run = await runs.get(namespace, older.metadata.name ?? "");
      return run.spec?.status === "Cancelled" ? run : undefined;
    });
    expect(cancelled.metadata.annotations?.["tekton-lineage.io/queue-decision"]).toMatch(
      /cancelled: superseded by attempt 2 \(.+\), which asked for cancel-in-progress/,
    );
  });

  it("clears a queue on request: every waiting run is cancelled, running ones are left alone", async () => {
    const waiting = [await runs.create(slowRun()), await runs.create(slowRun())];
    expect(waiting.every(isPending)).toBe(true);
    const out = await tektonLineageCli(
      "queue",
      "clear",
      `pac/${namespace}/slow`,
      "--namespace=tekton-lineage",
    );
    expect(out).toMatch(/cleared queue pac\/.+\/slow: \d+ of \d+ waiting runs cancelled/);
    for (const run of waiting) {
      expect((await runs.get(namespace, run.metadata.name ?? "")).spec?.status).toBe("Cancelled");
    }
  });
});

describe("a repository with a maximum wait", () => {
  it("cancels a run that waited too long, saying why", async () => {
    await createRepository(admin, {
      namespace,
      name: "impatient",
      annotations: {
        "tekton-lineage.io/queue": "enabled",
        "tekton-lineage.io/concurrency-limit": "1",
        "tekton-lineage.io/max-queue-wait": "2s",
      },
    });
    await eventually("the repository to reach the webhook", async () => {
      const probe = await runs.create(pacPipelineRun({ namespace, sha: sha(), repository: "impatient" }), {
        dryRun: true,
      });
      return probe.metadata.annotations?.["tekton-lineage.io/queue"] !== undefined;
    });
    await runs.create(pacPipelineRun({ namespace, sha: sha(), repository: "impatient" }));
    const waiting = await runs.create(pacPipelineRun({ namespace, sha: sha(), repository: "impatient" }));
    const cancelled = await eventually(
      "the run to be cancelled after its maximum wait",
      async () => {
        const run = await runs.get(namespace, waiting.metadata.name ?? "");
        return run.spec?.status === "Cancelled" ? run : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(cancelled.metadata.annotations?.["tekton-lineage.io/queue-decision"]).toMatch(
      /^cancelled: waited longer than 2s in queue pac\/.+\/impatient$/,
    );
  });
});

describe("with Pipelines-as-Code as it queues since v0.37 (emulated from its source)", () => {
  const mr = (repository: string, sha: string): MergeRequest => ({
    namespace,
    repository,
    sha,
    number: 7,
    sourceProjectId: projectId,
    targetProjectId: projectId,
  });
  const pipelines = ["build", "test", "lint"];
  /** The most runs of `names` running at once, from Tekton's starts and ends. */
  const mostAtOnce = (names: readonly string[]) => tekton.mostRunningAtOnce((run) => names.includes(run));
  const allFinished = (names: readonly string[]) =>
    eventually("every run to finish", () => names.every((n) => tekton.finished.some((f) => f.run === n)), {
      timeoutMs: 30_000,
    });

  it("leaves a Repository with spec.concurrency_limit to PaC's own queue", async () => {
    const results = await pac.open(mr("pac-owned", newCommit(gitlab)), pipelines);
    const created = createdRuns(results);
    expect(created).toHaveLength(3);
    // PaC made them Pending itself (label state=started at create, state=queued patched after); tekton-lineage
    // gave them their names and attempts, and no queue claim.
    for (const run of created) {
      expect(run.metadata.annotations?.["tekton-lineage.io/attempt"]).toBe("1");
      expect(run.metadata.annotations?.["tekton-lineage.io/queue"]).toBeUndefined();
    }
    const names = created.map((r) => `${namespace}/${r.metadata.name}`);
    await allFinished(names);
    // PaC's queue started them one at a time (its limit 1), in its execution order (by name).
    expect(mostAtOnce(names)).toBe(1);
    expect(tekton.started.filter((s) => names.includes(s.run)).map((s) => s.run)).toEqual([...names].sort());
  });

  it("refuses loudly an opt-in that PaC would override, and leaves the runs to PaC", async () => {
    const results = await pac.open(mr("both", newCommit(gitlab)), ["build", "test"]);
    const created = createdRuns(results);
    expect(created.every((r) => r.metadata.annotations?.["tekton-lineage.io/queue"] === undefined)).toBe(
      true,
    );
    const names = created.map((r) => `${namespace}/${r.metadata.name}`);
    await allFinished(names);
    expect(mostAtOnce(names)).toBe(1);
    const refusal = await eventually("tekton-lineage's Event on the Repository", async () => {
      const events = await admin
        .makeApiClient(CoreV1Api)
        .listNamespacedEvent({ namespace, fieldSelector: "reason=QueueOptInRefused" });
      return events.items.find((e) => e.involvedObject.name === "both");
    });
    expect(refusal.message).toBe(
      `Repository ${namespace}/both opted in to tekton-lineage's queue, but Pipelines-as-Code queues its runs itself by its spec.concurrency_limit (1); remove spec.concurrency_limit and set tekton-lineage.io/concurrency-limit`,
    );
    expect(
      await lineage.metric("tekton_lineage_queue_opt_in_refused", { namespace, repository: "both" }),
    ).toBe(1);
    const text = await tektonLineageCli(
      "queue",
      "list",
      "--namespace=tekton-lineage",
      `--pac-namespace=${namespace}`,
    );
    expect(text).toContain(`refused opt-in: Repository ${namespace}/both opted in`);
  });

  it("queues an opted-in Repository PaC sets no limit on: PaC never starts the runs tekton-lineage holds", async () => {
    const results = await pac.open(mr("pac-queue", newCommit(gitlab)), pipelines);
    const created = createdRuns(results);
    // tekton-lineage's queue (limit 1) let one start and made the others wait; PaC saw them Pending and
    // reported them queued, but set no execution-order (its queue is off without a limit of its own).
    expect(created.map(isPending).filter(Boolean)).toHaveLength(2);
    const names = created.map((r) => `${namespace}/${r.metadata.name}`);
    await allFinished(names);
    expect(mostAtOnce(names)).toBe(1);
    for (const run of created) {
      const stored = await runs.get(namespace, run.metadata.name ?? "");
      expect(stored.metadata.annotations?.["pipelinesascode.tekton.dev/execution-order"]).toBeUndefined();
      // PaC's watcher took each over when it ran (state started), and reported its end (completed).
      await eventually(
        "PaC to report the run completed",
        async () =>
          (await runs.get(namespace, run.metadata.name ?? "")).metadata.annotations?.[
            "pipelinesascode.tekton.dev/state"
          ] === "completed",
      );
      if (isPending(run))
        expect(stored.metadata.annotations?.["tekton-lineage.io/queue-decision"]).toMatch(
          /^started by queue /,
        );
    }
  });
});
