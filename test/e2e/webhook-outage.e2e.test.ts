import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineRun } from "../../src/core/tekton.ts";
import { refusal } from "./support/admission.ts";
import { adminKubeConfig } from "./support/context.ts";
import { pacPipelineRun, pipelineRuns } from "./support/pipelineruns.ts";
import { createRepository } from "./support/repositories.ts";
import { createSuite } from "./support/suite.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";
import { type RegisteredWebhooks, registerAndServe } from "./support/webhooks.ts";

/**
 * tekton-lineage is down (its webhooks registered as released: mutate Ignore, validate Fail with its
 * match conditions). Tekton, PaC's watcher and users must still be able to do everything that does not
 * touch tekton-lineage's keys to runs tekton-lineage admitted earlier; only edits of those keys, and the
 * start of a run waiting in its queue, are refused.
 */
const suite = createSuite("outage");
const admin = adminKubeConfig();
const runs = pipelineRuns(admin);
let namespace: string;
let lineage: LineageProcess;
let webhooks: RegisteredWebhooks;
let admitted: PipelineRun;
let waiting: PipelineRun;
const sha = () => randomBytes(20).toString("hex");

beforeAll(async () => {
  namespace = await suite.namespace("runs");
  await createRepository(admin, {
    namespace,
    name: "repo",
    annotations: { "tekton-lineage.io/queue": "enabled", "tekton-lineage.io/concurrency-limit": "1" },
  });
  lineage = await startTektonLineage({ role: "all", args: [`--watch-namespaces=${namespace}`] });
  webhooks = await registerAndServe({ suite: suite.id, port: lineage.port, namespace, processes: lineage });
  admitted = await runs.create(pacPipelineRun({ namespace, sha: sha(), repository: "repo" }));
  waiting = await runs.create(pacPipelineRun({ namespace, sha: sha(), repository: "repo" }));
  expect(admitted.metadata.annotations?.["tekton-lineage.io/signature"]).toBeDefined();
  expect(waiting.spec?.status).toBe("PipelineRunPending");
  await lineage.stop(); // the outage: the webhooks stay registered, nothing answers
});

afterAll(async () => {
  await webhooks?.remove();
  await suite.cleanup();
});

describe("while tekton-lineage is down", () => {
  it("lets Tekton, PaC's watcher and users update admitted runs", async () => {
    const name = admitted.metadata.name ?? "";
    // Tekton's controller: its labels and a finalizer, then the finalizer's removal.
    await runs.patchMetadata(namespace, name, {
      labels: { "tekton.dev/pipeline": "build" },
      finalizers: ["chains.tekton.dev/pipelinerun"],
    });
    await runs.patch(namespace, name, [{ op: "remove", path: "/metadata/finalizers" }]);
    // PaC's watcher: the state annotation and label, log-url, its pipeline id.
    await runs.patchMetadata(namespace, name, {
      labels: { "pipelinesascode.tekton.dev/state": "started" },
      annotations: {
        "pipelinesascode.tekton.dev/state": "started",
        "pipelinesascode.tekton.dev/log-url": "https://console.example/run",
        "pipelinesascode.tekton.dev/gitlab-pipeline-id": "77",
      },
    });
    // A user cancels it, and cancels the one waiting in the queue.
    await runs.patch(namespace, name, [{ op: "add", path: "/spec/status", value: "Cancelled" }]);
    const updated = await runs.get(namespace, name);
    expect(updated.spec?.status).toBe("Cancelled");
    expect(updated.metadata.annotations?.["pipelinesascode.tekton.dev/state"]).toBe("started");
  });

  it("refuses an edit of tekton-lineage's keys, and the start of a run waiting in its queue", async () => {
    const name = admitted.metadata.name ?? "";
    const edit = await refusal(
      runs.patchMetadata(namespace, name, { labels: { "tekton-lineage.io/attempt": "9" } }),
    );
    expect(edit?.message).toMatch(/failed calling webhook/);
    const start = await refusal(
      runs.patch(namespace, waiting.metadata.name ?? "", [{ op: "remove", path: "/spec/status" }]),
    );
    expect(start?.message).toMatch(/failed calling webhook/);
    // Cancelling the waiting run is not a start: it goes through.
    await runs.patch(namespace, waiting.metadata.name ?? "", [
      { op: "replace", path: "/spec/status", value: "Cancelled" },
    ]);
  });

  it("lets new runs be created, unnamed as before tekton-lineage (mutate fails open)", async () => {
    const created = await runs.create(pacPipelineRun({ namespace, sha: sha(), repository: "repo" }));
    expect(created.metadata.annotations?.["tekton-lineage.io/attempt"]).toBeUndefined();
  });

  it("lets runs carrying the user's own keys (the opt-out label, cancel-in-progress) be created and updated", async () => {
    const created = await runs.create(
      pacPipelineRun({
        namespace,
        sha: sha(),
        repository: "repo",
        extraLabels: { "tekton-lineage.io/webhook": "disabled" },
        extraAnnotations: { "tekton-lineage.io/cancel-in-progress": "true" },
      }),
    );
    expect(created.metadata.labels?.["tekton-lineage.io/webhook"]).toBe("disabled");
    const updated = await runs.patchMetadata(namespace, created.metadata.name ?? "", {
      annotations: { "tekton-lineage.io/cancel-in-progress": "false" },
    });
    expect(updated.metadata.annotations?.["tekton-lineage.io/cancel-in-progress"]).toBe("false");
  });
});
