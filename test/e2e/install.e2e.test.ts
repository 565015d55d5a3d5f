import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineRun } from "../../src/core/tekton.ts";
import { apiFailure } from "../../src/kube/api-errors.ts";
import type { FakeGitLab } from "../fakes/gitlab/server.ts";
import { registerWebhooksByUrl } from "./controlplane/register-webhooks.ts";
import { configMapSettings } from "./controlplane/release.ts";
import { waitUntilServing } from "./support/admission.ts";
import { canI as canIAs } from "./support/can-i.ts";
import { holdClusterLock } from "./support/cluster-lock.ts";
import { adminKubeConfig, e2eContext } from "./support/context.ts";
import { gitProviderOf, newCommit, shown, startFakeGitLab } from "./support/gitlab.ts";
import {
  kubectlApply,
  podCidrPlaceholder,
  renderOverlay,
  withCheckNames,
  withPodCidr,
} from "./support/manifests.ts";
import { pacPipelineRun, pipelineRuns } from "./support/pipelineruns.ts";
import { eventually } from "./support/poll.ts";
import { createRepository } from "./support/repositories.ts";
import { createSuite } from "./support/suite.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";
import { TektonSimulator } from "./support/tekton-simulator.ts";
import { grantPipelineRunAccess, kubeConfigAs } from "./support/users.ts";
import { suiteLabel } from "./support/webhooks.ts";

/**
 * The release as installed: every manifest applied to the real API server, and tekton-lineage running as
 * its own ServiceAccount (so RBAC is enforced: a missing rule fails here), serving the certificate it
 * makes and rotates itself, with admissions, a queue, GitLab reports and audit Events flowing through a
 * certificate rotation.
 */
const suite = createSuite("install");
const admin = adminKubeConfig();
const runs = pipelineRuns(admin);
let namespace: string;
let gitlab: FakeGitLab;
let lineage: LineageProcess;
let unregister: () => Promise<void>;
let tekton: TektonSimulator;

let releaseLock: (() => void) | undefined;

beforeAll(async () => {
  // This file registers the release's own webhook configurations ("tekton-lineage"): cluster-wide, one name.
  releaseLock = await holdClusterLock("webhook-configurations");
  namespace = await suite.namespace("runs");
  // The global setup applied everything of the local overlay but the webhook configurations, for real;
  // those are registered by URL below, scoped to this suite's namespaces, so other suites running
  // meanwhile are not affected.
  const local = renderOverlay("local");
  gitlab = await startFakeGitLab(namespace);
  await createRepository(admin, {
    namespace,
    name: "demo-repo",
    annotations: { "tekton-lineage.io/queue": "enabled", "tekton-lineage.io/concurrency-limit": "2" },
    gitProvider: gitProviderOf(gitlab),
  });
  const settings = configMapSettings(local);
  const secrets = admin.makeApiClient(CoreV1Api);
  lineage = await startTektonLineage({
    role: "all",
    // It serves the certificate it makes; trust the CA it keeps in its Secret.
    trust: async () => {
      const secret = await secrets.readNamespacedSecret({
        name: "tekton-lineage-tls",
        namespace: "tekton-lineage",
      });
      return Buffer.from(secret.data?.["ca.crt"] ?? "", "base64").toString("utf8");
    },
    // The ConfigMap's settings, as the Deployment loads them (envFrom), with this test's overrides.
    env: Object.fromEntries(Object.entries(settings).filter(([k]) => k !== "TEKTON_LINEAGE_LISTEN")),
    args: [
      `--watch-namespaces=${namespace}`,
      "--namespace=tekton-lineage",
      "--leader-election-id=tekton-lineage-install-e2e",
      "--console-url=https://console.example/ns/{{ namespace }}/pipelinerun/{{ pr }}",
      "--cert-validity=40s",
      "--cert-renew-before=30s",
      "--gitlab-resync=2s",
      `--gitlab-hosts=${new URL(gitlab.url).host}`,
    ],
  });
  expect(settings.TEKTON_LINEAGE_MANAGE_CERTIFICATES).toBe("true");
  unregister = await registerWebhooksByUrl(admin, {
    name: "tekton-lineage",
    baseUrl: `https://${e2eContext().webhookHost}:${lineage.port}`,
    // Not tekton-lineage's CA: only the CA it writes into the configurations makes the calls succeed.
    caPem: readFileSync(join(e2eContext().certDir, "ca.crt"), "utf8"),
    namespaceLabels: { [suiteLabel]: suite.id },
    mutatingFailurePolicy: "Fail",
  });
  await waitUntilServing(admin, namespace, lineage);
  tekton = new TektonSimulator(admin, [namespace], () => ({ durationMs: 300, succeeded: true }));
  await tekton.start();
  await grantPipelineRunAccess(namespace, "alice");
});

afterAll(async () => {
  tekton?.stop();
  await unregister?.();
  releaseLock?.();
  await lineage?.stop();
  await gitlab?.stop();
  await suite.cleanup();
});

describe("the release YAML", () => {
  // The webhook configurations are checked under another name (withCheckNames).
  const rendered = (overlay: string) => withCheckNames(withPodCidr(renderOverlay(overlay)));

  it("has a variant for clusters before 1.28 whose validating webhook fails open, without matchConditions", () => {
    const release = rendered("before-1.28");
    const validating = release.slice(release.indexOf("kind: ValidatingWebhookConfiguration"));
    expect(validating).toContain("failurePolicy: Ignore");
    expect(validating).not.toContain("matchConditions");
    expect(kubectlApply(release, { dryRun: true })).toContain(
      "validatingwebhookconfiguration.admissionregistration.k8s.io/tekton-lineage-release-check serverside-applied",
    );
  });

  it("refuses to install until the pod CIDR of the NetworkPolicy is set, saying why", () => {
    const unset = renderOverlay("in-cluster");
    expect(unset).toContain(podCidrPlaceholder);
    const policy = unset.split("\n---\n").find((doc) => doc.includes("kind: NetworkPolicy")) ?? "";
    expect(() => kubectlApply(policy, { dryRun: true })).toThrow(/SET-YOUR-POD-CIDR|CIDR/);
  });

  it("applies to the real API server without error (server-side)", () => {
    const release = rendered("in-cluster");
    const out = kubectlApply(release, { dryRun: true });
    for (const kind of [
      "deployment.apps/tekton-lineage",
      "poddisruptionbudget.policy/tekton-lineage",
      "service/tekton-lineage",
      "networkpolicy.networking.k8s.io/tekton-lineage",
    ]) {
      expect(out).toContain(kind);
    }
    for (const kind of ["mutating", "validating"]) {
      expect(out).toContain(
        `${kind}webhookconfiguration.admissionregistration.k8s.io/tekton-lineage-release-check serverside-applied`,
      );
    }
  });
});

describe("the release's RBAC", () => {
  const standalone = "system:serviceaccount:tekton-lineage:tekton-lineage";
  const canI = (verb: string, resource: string, namespace: string) =>
    canIAs(standalone, verb, resource, namespace);

  it("reads Secrets only of its own namespace and of namespaces that granted it their Repository tokens", () => {
    expect(canI("get", "secrets", "kube-system")).toBe("no");
    expect(canI("list", "secrets", "default")).toBe("no");
    expect(canI("get", "secrets", "tekton-lineage")).toBe("yes");
    expect(canI("get", "secrets", namespace)).toBe("yes"); // startFakeGitLab bound the documented role here
    expect(canI("list", "secrets", namespace)).toBe("no");
  });
});

describe("tekton-lineage running as its ServiceAccount", () => {
  it("admits, queues, reports to GitLab and audits, through certificate rotations, with no failed admission", async () => {
    const secrets = admin.makeApiClient(CoreV1Api);
    const served = async () =>
      (await secrets.readNamespacedSecret({ name: "tekton-lineage-tls", namespace: "tekton-lineage" }))
        .data?.["tls.crt"];
    const firstCertificate = await served();
    const loadsBefore = await lineage.metric("tekton_lineage_tls_reloads_total", { result: "loaded" });
    const created: PipelineRun[] = [];
    const failures: string[] = [];
    const sha = newCommit(gitlab);
    // Traffic (a create every 150 ms) until the serving certificate has been renewed twice and loaded
    // without a restart, and at least 50 runs were admitted meanwhile.
    const renewedTwice = async () =>
      (await served()) !== firstCertificate &&
      (await lineage.metric("tekton_lineage_tls_reloads_total", { result: "loaded" })) >= loadsBefore + 2;
    const deadline = Date.now() + 120_000;
    while (created.length < 50 || !(await renewedTwice())) {
      if (Date.now() > deadline)
        throw new Error(`no two certificate renewals within 120 s (${created.length} runs created)`);
      try {
        created.push(
          await runs.create(
            pacPipelineRun({
              namespace,
              sha: created.length % 3 === 0 ? sha : newCommit(gitlab),
              repository: "demo-repo",
            }),
          ),
        );
      } catch (error) {
        failures.push(apiFailure(error).message);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(failures).toEqual([]);
    expect(created.every((r) => r.metadata.annotations?.["tekton-lineage.io/attempt"] !== undefined)).toBe(
      true,
    );
    // The queue ran everything (limit 2), and GitLab shows the latest attempt of the shared commit.
    await eventually("every run to finish", () => tekton.finished.length >= created.length, {
      timeoutMs: 90_000,
    });
    const latest = created
      .filter((r) => r.metadata.annotations?.["pipelinesascode.tekton.dev/sha"] === sha)
      .pop();
    const job = await eventually(
      "GitLab to show the latest attempt",
      async () => {
        const current = await shown(gitlab, sha, "Pipelines as Code CI / build");
        return current?.status === "success" && current.target_url?.endsWith(latest?.metadata.name ?? "?")
          ? current
          : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(job.description).toBe(
      `attempt ${latest?.metadata.annotations?.["tekton-lineage.io/attempt"]} succeeded`,
    );
    // A forged create is refused and audited, with the ServiceAccount's own rights.
    const forged = pacPipelineRun({
      namespace,
      sha,
      repository: "demo-repo",
      extraAnnotations: { "tekton-lineage.io/attempt": "1" },
    });
    expect(
      await pipelineRuns(kubeConfigAs("alice"))
        .create(forged)
        .catch((e: unknown) => apiFailure(e)),
    ).toMatchObject({ code: 403 });
    await eventually("the rejection as an Event", async () => {
      const events = await secrets.listNamespacedEvent({
        namespace,
        fieldSelector: "reason=CreationRejected",
      });
      return events.items.length > 0;
    });
    // Nothing tekton-lineage asked of the API server was forbidden.
    const forbidden = lineage
      .logs()
      .filter(
        (l) =>
          l.level !== "info" &&
          /"(code|status)":403\b|forbidden/i.test(JSON.stringify(l)) &&
          l.msg !== "admission review",
      );
    expect(forbidden).toEqual([]);
  });
});
