import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { settingsChecksumKey } from "../../src/kube/deployment-rollout.ts";
import { adminKubeConfig, e2eContext } from "./support/context.ts";
import { createReview, httpsPost } from "./support/https-post.ts";
import { type LineageProcess, startLineageProcess } from "./support/lineage-process.ts";
import { eventually } from "./support/poll.ts";
import { createSuite } from "./support/suite.ts";

/**
 * The settings ConfigMap, watched: live settings take effect in the running process; a change of one
 * that needs a restart makes the leader roll the Deployment by a checksum on its pod template.
 */
const suite = createSuite("settings");
const core = adminKubeConfig().makeApiClient(CoreV1Api);
const apps = adminKubeConfig().makeApiClient(AppsV1Api);
let namespace: string;
let lineage: LineageProcess;

/** What envFrom gave the process, and what the ConfigMap holds at first. */
const initial = {
  TEKTON_LINEAGE_LOG_LEVEL: "info",
  TEKTON_LINEAGE_GITLAB_RESYNC: "2m",
  TEKTON_LINEAGE_QUEUE_TTL: "10s",
};

const setData = (data: Record<string, string>) =>
  core.replaceNamespacedConfigMap({
    name: "tl-settings",
    namespace,
    body: { metadata: { name: "tl-settings", namespace }, data },
  });
const checksum = async () =>
  (await apps.readNamespacedDeployment({ name: "tl-deploy", namespace })).spec?.template.metadata
    ?.annotations?.[settingsChecksumKey];
const ca = () => readFileSync(join(e2eContext().certDir, "ca.crt"), "utf8");
const logged = (msg: string) => lineage.logs().filter((l) => l.msg === msg);

beforeAll(async () => {
  namespace = await suite.namespace("own");
  await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: "tl-settings" }, data: initial },
  });
  // A Deployment to roll; nothing runs its pods here (no controller-manager), its spec is what counts.
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: "tl-deploy" },
      spec: {
        selector: { matchLabels: { app: "tl" } },
        template: {
          metadata: { labels: { app: "tl" } },
          spec: { containers: [{ name: "tl", image: "tl:dev" }] },
        },
      },
    },
  });
  lineage = await startLineageProcess(e2eContext(), {
    role: "all",
    env: initial,
    args: [
      `--namespace=${namespace}`,
      `--watch-namespaces=${namespace}`,
      `--leader-election-id=tl-settings-${process.pid}`,
      "--settings-configmap=tl-settings",
      "--rollout-deployment=tl-deploy",
    ],
  });
  await eventually("the process to lead", () => logged("became leader").length > 0);
});

afterAll(async () => {
  await lineage?.stop();
  await suite.cleanup();
});

describe("the settings ConfigMap", () => {
  it("applies a live setting in the running process, without rolling the Deployment", async () => {
    expect(lineage.logs().some((l) => l.level === "debug")).toBe(false);
    await setData({ ...initial, TEKTON_LINEAGE_LOG_LEVEL: "debug", TEKTON_LINEAGE_GITLAB_RESYNC: "30s" });
    const applied = await eventually(
      "the change applied",
      () => logged("settings applied without a restart")[0],
    );
    expect(applied.settings).toEqual(["gitlabResync", "logLevel"]);
    // The process logs at debug now: an allowed admission review is logged at debug only.
    const review = createReview(
      { apiVersion: "tekton.dev/v1", kind: "PipelineRun", metadata: { generateName: "plain-", namespace } },
      "live-debug",
    );
    expect((await httpsPost(`${lineage.url}/mutate`, { ca: ca(), body: review })).status).toBe(200);
    await eventually("the review logged at debug", () =>
      lineage.logs().some((l) => l.level === "debug" && l.msg === "admission review"),
    );
    expect(await checksum()).toBeUndefined();
  });

  it("refuses a live value that does not parse, and keeps the one it had", async () => {
    await setData({ ...initial, TEKTON_LINEAGE_LOG_LEVEL: "debug", TEKTON_LINEAGE_GITLAB_RESYNC: "soon" });
    const refused = await eventually("the refusal", () =>
      lineage.logs().find((l) => String(l.msg).includes("a live setting was refused")),
    );
    expect(String(refused.refused)).toContain("--gitlab-resync");
    expect(await checksum()).toBeUndefined();
  });

  it("rolls the Deployment, once, when a setting that needs a restart changes", async () => {
    await setData({ ...initial, TEKTON_LINEAGE_LOG_LEVEL: "debug", TEKTON_LINEAGE_QUEUE_TTL: "20s" });
    const rolled = await eventually("the Deployment rolled", checksum);
    expect(rolled).toMatch(/^[0-9a-f]{16}$/);
    // The log line comes after the patch's answer: wait for it, not for the moment.
    const said = await eventually(
      "the roll logged",
      () => logged("settings changed that need a restart: rolling the Deployment")[0],
    );
    expect(said.settings).toEqual(["queue-ttl"]);
    // The same settings again (a resync, a live change): the annotation is there, no second roll.
    await setData({ ...initial, TEKTON_LINEAGE_LOG_LEVEL: "info", TEKTON_LINEAGE_QUEUE_TTL: "20s" });
    await eventually("the live change applied", () =>
      logged("settings applied without a restart").some((l) => JSON.stringify(l.settings) === '["logLevel"]'),
    );
    expect(await checksum()).toBe(rolled);
    expect(logged("settings changed that need a restart: rolling the Deployment")).toHaveLength(1);
  });
});
