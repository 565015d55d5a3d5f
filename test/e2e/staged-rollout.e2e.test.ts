import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoordinationV1Api, CoreV1Api, loadAllYaml } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiFailure } from "../../src/kube/api-errors.ts";
import { attemptLeaseName } from "../../src/lineage/attempts.ts";
import { ensureNamespace } from "./controlplane/install.ts";
import { adminKubeConfig, e2eContext } from "./support/context.ts";
import {
  installAddonCrds,
  kubectlApply,
  renderWithComponents,
  withCheckNames,
  withPodCidr,
} from "./support/manifests.ts";
import { pacPipelineRun, pipelineRuns } from "./support/pipelineruns.ts";
import { eventually } from "./support/poll.ts";
import { createSuite } from "./support/suite.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";
import { type RegisteredWebhooks, registerAndServe } from "./support/webhooks.ts";

/**
 * The staged rollout: audit mode decides and reports without changing anything; the opt-in and audit
 * components render onto the in-cluster install and are accepted by the API server.
 */
const suite = createSuite("staged");
const root = fileURLToPath(new URL("../../", import.meta.url));
const admin = adminKubeConfig();
const runs = pipelineRuns(admin);
const core = admin.makeApiClient(CoreV1Api);
let namespace: string;
let lineage: LineageProcess;
let webhooks: RegisteredWebhooks;

interface Webhook {
  name: string;
  failurePolicy: string;
  clientConfig: { service?: { path?: string } };
  namespaceSelector?: { matchExpressions?: { key: string; operator: string; values: string[] }[] };
}
const webhooksOf = (yaml: string, kind: string) =>
  (loadAllYaml(yaml) as { kind: string; webhooks?: Webhook[] }[]).find((d) => d.kind === kind)?.webhooks ??
  [];

beforeAll(async () => {
  namespace = await suite.namespace("audit");
  lineage = await startTektonLineage({ role: "webhook" });
  webhooks = await registerAndServe({
    suite: suite.id,
    port: lineage.port,
    pathSuffix: "-audit",
    namespace,
    processes: lineage,
  });
});

afterAll(async () => {
  await webhooks?.remove();
  await lineage?.stop();
  await suite.cleanup();
});

describe("audit mode", () => {
  it("decides a create and says what it would do, and changes nothing: no name, no claim, no counter", async () => {
    const leases = admin.makeApiClient(CoordinationV1Api);
    const created = await runs.create(pacPipelineRun({ namespace, sha: "a".repeat(40), repository: "repo" }));
    // Created as PaC asked: generateName's name, no tekton-lineage key.
    expect(created.metadata.name).toMatch(/^build-[a-z0-9]{5}$/);
    expect(
      Object.keys({ ...created.metadata.annotations, ...created.metadata.labels }).filter((k) =>
        k.startsWith("tekton-lineage.io/"),
      ),
    ).toEqual([]);
    const event = await eventually("the audit Event", async () =>
      (await core.listNamespacedEvent({ namespace, fieldSelector: "reason=AuditWouldChange" })).items.find(
        (e) => e.involvedObject.name === "build-",
      ),
    );
    expect(event.type).toBe("Normal");
    expect(event.message).toMatch(
      /audit mode, nothing changed\): would name it build-[a-z0-9]{10}-1 \(attempt 1 of lineage /,
    );
    expect(await lineage.metric("tekton_lineage_audit_decisions_total", { would: "change" })).toBe(1);
    // The attempt was shown, not reserved: the lineage it names has no counter Lease.
    const lineageId = /would name it build-([a-z0-9]{10})-1 /.exec(event.message ?? "")?.[1] ?? "";
    expect(lineageId).not.toBe("");
    const counter = await leases
      .readNamespacedLease({ name: attemptLeaseName(lineageId), namespace: "tekton-lineage" })
      .then(
        () => "found",
        (error: unknown) => apiFailure(error).code,
      );
    expect(counter).toBe(404);
  });
});

describe("the opt-in and audit components", () => {
  it("opt-in: enforced where labelled enabled, audited where labelled audit, nothing elsewhere", () => {
    const yaml = withCheckNames(withPodCidr(renderWithComponents("in-cluster", ["opt-in"])));
    const mutating = webhooksOf(yaml, "MutatingWebhookConfiguration");
    expect(
      mutating.map((w) => [
        w.name,
        w.clientConfig.service?.path,
        w.failurePolicy,
        w.namespaceSelector?.matchExpressions?.find((e) => e.key === "tekton-lineage.io/webhook"),
      ]),
    ).toEqual([
      [
        "mutate.pipelineruns.tekton-lineage.io",
        "/mutate",
        "Ignore",
        { key: "tekton-lineage.io/webhook", operator: "In", values: ["enabled"] },
      ],
      [
        "audit.mutate.pipelineruns.tekton-lineage.io",
        "/mutate-audit",
        "Ignore",
        { key: "tekton-lineage.io/webhook", operator: "In", values: ["audit"] },
      ],
    ]);
    const out = kubectlApply(yaml, { dryRun: true });
    expect(out).toMatch(
      /mutatingwebhookconfiguration\.admissionregistration\.k8s\.io\/tekton-lineage-release-check serverside-applied/,
    );
  });

  it("audit: every webhook answers from its audit path and never blocks", () => {
    const yaml = withCheckNames(withPodCidr(renderWithComponents("in-cluster", ["audit"])));
    for (const kind of ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"])
      for (const w of webhooksOf(yaml, kind)) {
        expect(w.clientConfig.service?.path).toMatch(/-audit$/);
        expect(w.failurePolicy).toBe("Ignore");
      }
    expect(kubectlApply(yaml, { dryRun: true })).toMatch(
      /validatingwebhookconfiguration\.admissionregistration\.k8s\.io\/tekton-lineage-release-check serverside-applied/,
    );
  });
});

describe("composable install", () => {
  it.each<[string, string[]]>([
    ["in-cluster", ["cert-manager"]],
    ["in-cluster", ["before-1.28"]],
    ["in-cluster", ["monitoring"]],
    ["in-cluster", ["cert-manager", "before-1.28", "monitoring", "opt-in"]],
    ["in-cluster", ["audit", "before-1.28", "cert-manager"]],
    ["pac-sidecar", ["opt-in", "before-1.28"]],
  ])(
    "%s with %j renders and is accepted by the API server (server-side dry run)",
    async (overlay, components) => {
      await installAddonCrds();
      // The sidecar installs into PaC's namespace, which PaC made.
      if (overlay === "pac-sidecar") await ensureNamespace(admin, "pipelines-as-code");
      const yaml = withCheckNames(withPodCidr(renderWithComponents(overlay, components)));
      // The sidecar merges into PaC's watcher Deployment, which a dry run needs to exist: left out here
      // (pac-sidecar.e2e.test.ts applies it onto a real one).
      const checked =
        overlay === "pac-sidecar"
          ? yaml
              .split("\n---\n")
              .filter((d) => !/^kind: Deployment$/m.test(d))
              .join("\n---\n")
          : yaml;
      const out = kubectlApply(checked, { dryRun: true });
      expect(out).toContain(
        "mutatingwebhookconfiguration.admissionregistration.k8s.io/tekton-lineage-release-check serverside-applied",
      );
      if (overlay === "in-cluster")
        expect(out).toContain("deployment.apps/tekton-lineage serverside-applied");
      if (components.includes("cert-manager")) {
        expect(out).toContain("certificate.cert-manager.io/tekton-lineage serverside-applied");
        // cert-manager issues the certificate: tekton-lineage does not make its own.
        expect(yaml).toContain('TEKTON_LINEAGE_MANAGE_CERTIFICATES: "false"');
      }
      if (components.includes("monitoring"))
        expect(out).toContain("podmonitor.monitoring.coreos.com/tekton-lineage");
      if (components.includes("before-1.28")) {
        const validating = yaml.slice(yaml.indexOf("kind: ValidatingWebhookConfiguration"));
        expect(validating).not.toContain("matchConditions");
      }
    },
  );

  it("make release renders with a kustomize or kubectl found on the PATH before building one", () => {
    const script = join(root, "test/e2e/controlplane/kustomize.sh");
    const shims = (name: string) => {
      const dir = mkdtempSync(join(e2eContext().logDir, "shim-"));
      writeFileSync(join(dir, name), `#!/bin/sh\necho "${name} $*"\n`, { mode: 0o755 });
      return dir;
    };
    // Only bash's own folder besides the shims: no other kubectl or kustomize can be found.
    const run = (dirs: string[]) =>
      execFileSync("bash", [script, "webhook-config/overlays/in-cluster"], {
        encoding: "utf8",
        env: {
          ...process.env,
          PATH: [
            ...dirs,
            dirname(execFileSync("bash", ["-c", "command -v sed"], { encoding: "utf8" }).trim()),
          ].join(":"),
        },
      }).trim();
    expect(run([shims("kustomize"), shims("kubectl")])).toBe(
      "kustomize build webhook-config/overlays/in-cluster",
    );
    expect(run([shims("kubectl")])).toBe("kubectl kustomize webhook-config/overlays/in-cluster");
  });
});
