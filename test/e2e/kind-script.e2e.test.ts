import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadAllYaml, loadYaml } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { holdClusterLock } from "./support/cluster-lock.ts";
import { e2eContext } from "./support/context.ts";

/**
 * `make e2e-kind` needs Docker and runs only in .github/workflows/e2e-kind.yaml; its dry run
 * (E2E_KIND_DRY_RUN=1) runs here on every `make test`: every step printed, the release rendered with the
 * kind patches and, with the smoke manifests, validated by this run's API server (--dry-run=server).
 */
const root = fileURLToPath(new URL("../../", import.meta.url));
let output: string;

beforeAll(async () => {
  const { kubeconfig, kubectl } = e2eContext();
  // The release's webhook configurations are install.e2e's while it runs: a dry run would merge into them.
  const release = await holdClusterLock("webhook-configurations");
  try {
    output = execFileSync("bash", ["test/e2e/kind/run.sh"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, E2E_KIND_DRY_RUN: "1", KUBECONFIG: kubeconfig, KUBECTL: kubectl },
      stdio: ["ignore", "pipe", "pipe"],
    });
  } finally {
    release();
  }
});

/** The YAML printed after "--- manifest: <name>", up to the script's next line of its own. */
function manifest(name: string): string {
  const start = output.indexOf(`--- manifest: ${name}`);
  expect(start, `manifest ${name} printed`).toBeGreaterThanOrEqual(0);
  const body = output.slice(output.indexOf("\n", start) + 1);
  const ends = ["\n--- manifest: ", "\n--- server dry run: ", "\n== e2e-kind: "].map((m) => body.indexOf(m));
  return body.slice(0, Math.min(...ends.filter((i) => i >= 0)));
}

describe("make e2e-kind, dry run", () => {
  it("prints every step, from the cluster to the e2e suite, and creates nothing", () => {
    const steps = [...output.matchAll(/^== e2e-kind: (\d[a-d]?)\./gm)].map((m) => m[1]);
    expect(steps).toEqual(["1", "2", "3", "4a", "4b", "4c", "4d", "5"]);
    expect(output).toContain("+ kind create cluster --name tekton-lineage-e2e");
    expect(output).toMatch(
      /\+ .* apply -f https:\/\/infra\.tekton\.dev\/tekton-releases\/pipeline\/previous\/v\d+\.\d+\.\d+\/release\.yaml/,
    );
    expect(output).toContain("+ docker build -t tekton-lineage:e2e .");
    expect(output).toContain("rollout restart deploy/tekton-lineage");
    expect(output.trimEnd().endsWith("e2e-kind: dry run done")).toBe(true);
  });

  it("renders the release with the kind patches, and the API server accepts every object of it", () => {
    const objects = loadAllYaml(manifest("release (test/e2e/kind/overlay)")) as {
      kind: string;
      metadata: { name: string };
      data?: Record<string, string>;
      spec?: { template?: { spec?: { containers?: { image: string; imagePullPolicy: string }[] } } };
      webhooks?: { namespaceSelector?: { matchLabels?: Record<string, string> } }[];
    }[];
    const container = objects.find((o) => o.kind === "Deployment")?.spec?.template?.spec?.containers?.[0];
    expect(container).toMatchObject({ image: "tekton-lineage:e2e", imagePullPolicy: "Never" });
    expect(objects.find((o) => o.kind === "ConfigMap")?.data?.TEKTON_LINEAGE_WATCH_NAMESPACES).toBe(
      "kind-smoke",
    );
    const hooks = objects.filter((o) => o.kind.endsWith("WebhookConfiguration"));
    expect(hooks).toHaveLength(2);
    for (const hook of hooks)
      expect(hook.webhooks?.[0]?.namespaceSelector?.matchLabels).toEqual({
        "tekton-lineage.io/kind-smoke": "true",
      });
    // kubectl's answer to the server-side dry run names each object it would have applied.
    const validated = output.slice(output.indexOf("--- server dry run: release"));
    for (const o of objects)
      expect(validated).toMatch(new RegExp(`${o.metadata.name} serverside-applied \\(server dry run\\)`));
  });

  it("validates the smoke test's namespace, Repository and PipelineRuns against the API server", () => {
    expect(output).toMatch(/namespace\/kind-smoke serverside-applied \(server dry run\)/);
    expect(output).toMatch(
      /repository\.pipelinesascode\.tekton\.dev\/demo-repo serverside-applied \(server dry run\)/,
    );
    const lines = output.split("\n");
    expect(lines).toContain("e2e-kind: created build-(dry run)");
    expect(lines).toContain("e2e-kind: created build-(dry run) and build-(dry run)");

    expect(manifest("Pipeline build (Tekton's CRD, not on the dry run's cluster: printed only)")).toContain(
      "kind: Pipeline",
    );
  });
});

describe(".github/workflows/e2e-kind.yaml", () => {
  const workflow = loadYaml(readFileSync(`${root}.github/workflows/e2e-kind.yaml`, "utf8")) as {
    on: Record<string, unknown>;
    env: Record<string, string>;
    jobs: Record<
      string,
      {
        "runs-on": string;
        strategy: { matrix: { include: { kubernetes: string; "node-image": string }[] } };
        steps: { name?: string; uses?: string; run?: string; if?: string; with?: Record<string, string> }[];
      }
    >;
  };
  const job = Object.values(workflow.jobs)[0];

  it("runs make e2e-kind on pull requests and pushes to main, on a machine with Docker", () => {
    expect(Object.keys(workflow.on).sort()).toEqual(["pull_request", "push"]);
    expect(job?.["runs-on"]).toBe("ubuntu-latest");
    expect(job?.steps.some((s) => s.run?.includes("make e2e-kind"))).toBe(true);
  });

  it("pins kind, Node and Tekton, the same Tekton as the script's default", () => {
    expect(workflow.env.KIND_VERSION).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(workflow.env.NODE_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    const script = readFileSync(`${root}test/e2e/kind/run.sh`, "utf8");
    expect(script).toContain(`TEKTON_VERSION="\${TEKTON_VERSION:-${workflow.env.TEKTON_VERSION}}"`);
  });

  it("covers two Kubernetes minors at least two apart, with node images pinned by digest", () => {
    const include = job?.strategy.matrix.include ?? [];
    expect(include).toHaveLength(2);
    for (const entry of include) {
      expect(entry["node-image"]).toMatch(/^kindest\/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
      expect(entry["node-image"]).toContain(`:v${entry.kubernetes}.`);
    }
    const minors = include.map((e) => Number(e.kubernetes.split(".")[1])).sort((a, b) => a - b);
    expect((minors[1] ?? 0) - (minors[0] ?? 0)).toBeGreaterThanOrEqual(2);
  });

  it("caches the control-plane binaries and uploads tekton-lineage's and the cluster's logs on failure", () => {
    const steps = job?.steps ?? [];
    expect(steps.find((s) => s.uses?.startsWith("actions/cache@"))?.with?.path).toBe(
      "~/.cache/tekton-lineage",
    );
    const collect = steps.find((s) => s.run?.includes("kind export logs"));
    expect(collect?.if).toBe("failure()");
    expect(collect?.run).toContain("logs deploy/tekton-lineage");
    expect(steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"))?.if).toBe("failure()");
  });
});
