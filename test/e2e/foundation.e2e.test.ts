import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiFailure } from "../../src/kube/api-errors.ts";
import { adminKubeConfig, e2eContext } from "./support/context.ts";
import { newPipelineRun, pipelineRuns } from "./support/pipelineruns.ts";
import { eventually } from "./support/poll.ts";
import { createSuite } from "./support/suite.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";
import { type RegisteredWebhooks, registerAndServe, registerWebhooks } from "./support/webhooks.ts";

const suite = createSuite("foundation");
const kubeConfig = adminKubeConfig();
const runs = pipelineRuns(kubeConfig);
let namespace: string;
let lineage: LineageProcess;
let webhooks: RegisteredWebhooks;

const reviews = (path: string) => lineage.metric("tekton_lineage_admission_reviews_total", { path });

beforeAll(async () => {
  namespace = await suite.namespace("runs");
  lineage = await startTektonLineage({ role: "all", args: [`--watch-namespaces=${namespace}`] });
  webhooks = await registerAndServe({
    suite: suite.id,
    port: lineage.port,
    mutatingFailurePolicy: "Fail",
    validatingFailurePolicy: "Fail",
    namespace,
    processes: lineage,
  });
});

afterAll(async () => {
  await webhooks?.remove();
  await lineage?.stop();
  await suite.cleanup();
});

describe("a PipelineRun created with generateName", () => {
  it("passes through both webhooks, as the webhook's own counters show", async () => {
    const [mutateBefore, validateBefore] = [await reviews("/mutate"), await reviews("/validate")];
    const created = await runs.create(newPipelineRun({ namespace, generateName: "build-" }));
    expect(created.metadata.name).toMatch(/^build-/);
    expect(await reviews("/mutate")).toBe(mutateBefore + 1);
    expect(await reviews("/validate")).toBe(validateBefore + 1);
    const line = lineage
      .logs()
      .find((l) => l.msg === "admission review" && l.path === "/mutate" && l.dryRun === false);
    expect(line).toMatchObject({ namespace, operation: "CREATE", user: "admin", name: "build-*" });
  });
});

describe("a server-side dry-run create", () => {
  it("reaches the webhook with dryRun: true and stores nothing", async () => {
    const before = (await runs.list(namespace)).length;
    const result = await runs.create(newPipelineRun({ namespace, generateName: "dry-" }), { dryRun: true });
    const dryName = result.metadata.name;
    expect(dryName).toMatch(/^dry-/);
    const line = await eventually("the dry-run review in the webhook's log", () =>
      lineage.logs().find((l) => l.msg === "admission review" && l.dryRun === true && l.name === "dry-*"),
    );
    expect(line).toMatchObject({ path: "/mutate", namespace, operation: "CREATE" });
    expect((await runs.list(namespace)).length).toBe(before);
  });
});

describe("with the webhook stopped", () => {
  it("failurePolicy Fail rejects the create with a message naming the webhook; Ignore lets it through", async () => {
    await lineage.stop();
    let failure: ReturnType<typeof apiFailure> | undefined;
    try {
      await runs.create(newPipelineRun({ namespace, generateName: "down-" }));
    } catch (error) {
      failure = apiFailure(error);
    }
    expect(failure?.code).toBe(500);
    expect(failure?.message).toContain('failed calling webhook "mutate.pipelineruns.tekton-lineage.io"');

    await registerWebhooks({
      suite: suite.id,
      port: lineage.port,
      mutatingFailurePolicy: "Ignore",
      validatingFailurePolicy: "Ignore",
    });
    const created = await eventually(
      "the create to pass once failurePolicy is Ignore",
      () => runs.create(newPipelineRun({ namespace, generateName: "down-" })),
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(created.metadata.name).toMatch(/^down-/);
    expect(e2eContext().serverVersion).toMatch(/^v1\./);
  });
});

describe("the shipped failure policies (mutate Ignore, validate Fail with a match condition), webhook down", () => {
  it("admits a plain run unchanged and refuses one that carries tekton-lineage keys", async () => {
    await lineage.stop();
    await registerWebhooks({ suite: suite.id, port: lineage.port });
    const plain = await eventually(
      "a plain create to pass with the webhook down",
      () => runs.create(newPipelineRun({ namespace, generateName: "plain-" })),
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(plain.metadata.name).toMatch(/^plain-[a-z0-9]{5}$/);
    const forged = newPipelineRun({
      namespace,
      generateName: "forged-",
      annotations: { "tekton-lineage.io/attempt": "1" },
    });
    const failure = await runs.create(forged).then(
      () => undefined,
      (error: unknown) => apiFailure(error),
    );
    expect(failure?.message).toContain('failed calling webhook "validate.pipelineruns.tekton-lineage.io"');
  });
});
