import { randomBytes } from "node:crypto";
import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiFailure } from "../../src/kube/api-errors.ts";
import { adminKubeConfig } from "./support/context.ts";
import { apiServerPort, kubeconfigThrough } from "./support/kubeconfig-via.ts";
import { pacPipelineRun, pipelineRuns } from "./support/pipelineruns.ts";
import { eventually } from "./support/poll.ts";
import { createSuite } from "./support/suite.ts";
import { TcpProxy } from "./support/tcp-proxy.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";
import { type RegisteredWebhooks, registerAndServe } from "./support/webhooks.ts";

/**
 * The API server turns slow while an attempt number is being allocated. tekton-lineage reaches it
 * through a proxy that the test stalls; the test itself talks to the API server directly.
 */
const suite = createSuite("outage");
const admin = adminKubeConfig();
const runs = pipelineRuns(admin);
const core = admin.makeApiClient(CoreV1Api);
let namespace: string;
let slowApi: TcpProxy;
let webhook: LineageProcess | undefined;
let webhooks: RegisteredWebhooks | undefined;

async function serveWith(policy: "allow" | "deny", mutatingFailurePolicy: "Ignore" | "Fail") {
  await webhook?.stop();
  webhook = await startTektonLineage({
    role: "webhook",
    kubeconfig: kubeconfigThrough(slowApi.port, `outage-${policy}`),
    args: ["--admission-deadline=1s", `--on-allocation-failure=${policy}`],
  });
  webhooks = await registerAndServe({
    suite: suite.id,
    port: webhook.port,
    mutatingFailurePolicy,
    validatingFailurePolicy: "Fail",
    namespace,
    processes: webhook,
  });
}

const fallbackEvents = async () =>
  (await core.listNamespacedEvent({ namespace, fieldSelector: "reason=AdmissionFallback" })).items;

beforeAll(async () => {
  namespace = await suite.namespace("runs");
  slowApi = await new TcpProxy([apiServerPort()]).start();
});

afterAll(async () => {
  slowApi?.resume();
  await webhooks?.remove();
  await webhook?.stop();
  await slowApi?.stop();
  await suite.cleanup();
});

describe("when the API server is too slow to allocate an attempt", () => {
  it("allow (with failurePolicy Ignore): admits the run unchanged with its generateName and records why", async () => {
    await serveWith("allow", "Ignore");
    slowApi.stall();
    const started = Date.now();
    const run = await runs.create(pacPipelineRun({ namespace, sha: randomBytes(20).toString("hex") }));
    const took = Date.now() - started;
    slowApi.resume();
    expect(took).toBeLessThan(4000);
    expect(run.metadata.name).toMatch(/^build-[a-z0-9]{5}$/);
    expect(
      Object.keys(run.metadata.annotations ?? {}).filter((k) => k.startsWith("tekton-lineage.io/")),
    ).toEqual([]);
    const [event] = await eventually("an AdmissionFallback Event", async () => {
      const events = await fallbackEvents();
      return events.length > 0 ? events : undefined;
    });
    expect(event?.involvedObject.name).toBe("build-");
    expect(event?.message).toMatch(
      /admitted without tekton-lineage's decision at \/mutate: no decision within the 1000ms admission deadline/,
    );
    expect(await webhook?.metric("tekton_lineage_admission_reviews_total", { outcome: "fallback" })).toBe(1);
  });

  it("deny (with failurePolicy Fail): refuses the create with a retryable message and creates nothing", async () => {
    await serveWith("deny", "Fail");
    const before = (await runs.list(namespace)).length;
    slowApi.stall();
    const failure = await runs
      .create(pacPipelineRun({ namespace, sha: randomBytes(20).toString("hex") }))
      .then(
        () => undefined,
        (e: unknown) => apiFailure(e),
      );
    slowApi.resume();
    expect(failure?.code).toBe(503);
    expect(failure?.message).toMatch(
      /could not assign this PipelineRun an attempt number .* retry the create in a few seconds/,
    );
    expect((await runs.list(namespace)).length).toBe(before);
    // Once the API server answers again, creates are admitted normally.
    const run = await runs.create(pacPipelineRun({ namespace, sha: randomBytes(20).toString("hex") }));
    expect(run.metadata.annotations?.["tekton-lineage.io/attempt"]).toBe("1");
  });
});
