import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { loadAllYaml } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { components, generateChart, renderRelease } from "../../release/chart/generate.ts";
import { scriptValues } from "./controlplane/binaries.ts";
import { type ControlPlaneState, startControlPlane, stopControlPlane } from "./controlplane/control-plane.ts";
import { e2eContext } from "./support/context.ts";
import { installAddonCrds, kubectlApply, withCheckNames, withPodCidr } from "./support/manifests.ts";
import { eventually } from "./support/poll.ts";
import { readmeCommand } from "./support/readme.ts";
import { createSuite } from "./support/suite.ts";

/**
 * What a release ships, made and installed with the real tools: the Helm chart (helm v4 lint, template
 * for every combination of Components against kustomize's render, a server-side dry run in another
 * namespace), and the files the tag workflow attaches (release/build.sh): the install manifest by
 * digest, the packaged chart, and the kubectl plugin installed by krew from its archive and manifest.
 */
const root = fileURLToPath(new URL("../../", import.meta.url));
const chartDir = join(root, "charts/tekton-lineage");
const suite = createSuite("release");
const run = promisify(execFile);
const podCidr = "10.244.0.0/16";
let tools: Record<string, string>;
/** kustomize's render of each combination, once for the file: the chart's check and its comparison read them. */
const renders = new Map<number, string>();
function render(combination: number): string {
  const yaml = renders.get(combination) ?? renderRelease(combination);
  renders.set(combination, yaml);
  return yaml;
}

async function helm(...args: string[]): Promise<string> {
  const { stdout } = await run(tools.HELM as string, args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** helm's failure as the words it printed. */
async function helmRefusal(...args: string[]): Promise<string> {
  return helm(...args).then(
    () => "accepted",
    (error: { stderr?: string }) => error.stderr ?? String(error),
  );
}

/** The objects of a render, by kind/name. */
function objects(yaml: string): Map<string, unknown> {
  const all = loadAllYaml(yaml) as ({ kind: string; metadata: { name: string } } | null)[];
  return new Map(all.filter((o) => o !== null).map((o) => [`${o.kind}/${o.metadata.name}`, o]));
}

function valuesFor(combination: number): string[] {
  return components.flatMap((c, bit) => [
    "--set",
    `components.${c.value}=${(combination & (1 << bit)) !== 0}`,
  ]);
}

beforeAll(async () => {
  ({ values: tools } = await scriptValues(join(root, "release/tools.sh")));
});

describe("the Helm chart", () => {
  it("is what `make chart` makes from webhook-config/ and the settings table", () => {
    const made = generateChart(render);
    const templates = readdirSync(join(chartDir, "templates")).map((f) => `templates/${f}`);
    expect(templates.sort()).toEqual([...made.keys()].filter((p) => p.startsWith("templates/")).sort());
    for (const [path, content] of made) {
      expect(readFileSync(join(chartDir, path), "utf8"), `${path}: run make chart`).toBe(content);
    }
  });

  it("passes helm lint, and refuses an install without the pod CIDR or with a setting that does not exist", async () => {
    expect(await helm("lint", "--strict", chartDir, "--set", `networkPolicy.podCIDR=${podCidr}`)).toContain(
      "1 chart(s) linted, 0 chart(s) failed",
    );
    expect(await helmRefusal("template", chartDir)).toContain(
      "networkPolicy.podCIDR: your cluster's pod CIDR",
    );
    const typo = await helmRefusal(
      "template",
      chartDir,
      "--set",
      `networkPolicy.podCIDR=${podCidr}`,
      "--set",
      "settings.gitlab-ulr=x",
    );
    expect(typo).toMatch(/additional properties? 'gitlab-ulr' not allowed/);
    expect(await helmRefusal("template", chartDir, "--set", "networkPolicy.podCIDR=all")).toContain(
      "podCIDR",
    );
  });

  it("renders, for every combination of Components, what kustomize renders", async () => {
    for (let combination = 0; combination < 1 << components.length; combination++) {
      const expected = objects(withPodCidr(render(combination), podCidr));
      expected.delete("Namespace/tekton-lineage");
      const rendered = objects(
        await helm(
          "template",
          "tekton-lineage",
          chartDir,
          "--namespace",
          "tekton-lineage",
          "--set",
          `networkPolicy.podCIDR=${podCidr}`,
          ...valuesFor(combination),
        ),
      );
      expect([...rendered.keys()].sort(), `combination ${combination}`).toEqual([...expected.keys()].sort());
      for (const [key, object] of expected)
        expect(rendered.get(key), `${key}, combination ${combination}`).toEqual(object);
    }
  });

  it("installs into any namespace, with settings and an image by digest (server-side dry run)", async () => {
    await installAddonCrds();
    const namespace = await suite.namespace("helm");
    const digest = `sha256:${"b".repeat(64)}`;
    const yaml = await helm(
      "template",
      "tekton-lineage",
      chartDir,
      "--namespace",
      namespace,
      "--set",
      `networkPolicy.podCIDR=${podCidr}`,
      "--set",
      `image.digest=${digest}`,
      "--set",
      "settings.log-level=debug",
      "--set",
      "settings.queue-ttl=30s",
      ...valuesFor(0b01101),
    );
    const rendered = objects(yaml);
    const webhooks = rendered.get("MutatingWebhookConfiguration/tekton-lineage") as {
      metadata: { annotations: Record<string, string> };
      webhooks: { clientConfig: { service: { namespace: string } }; namespaceSelector: unknown }[];
    };
    expect(webhooks.webhooks.map((w) => w.clientConfig.service.namespace)).toEqual([namespace, namespace]);
    expect(JSON.stringify(webhooks.webhooks[0]?.namespaceSelector)).toContain(
      `"NotIn","values":["kube-system","${namespace}"]`,
    );
    expect(webhooks.metadata.annotations["cert-manager.io/inject-ca-from"]).toBe(
      `${namespace}/tekton-lineage`,
    );
    const settings = (rendered.get("ConfigMap/tekton-lineage") as { data: Record<string, string> }).data;
    expect(settings.TEKTON_LINEAGE_LOG_LEVEL).toBe("debug");
    expect(settings.TEKTON_LINEAGE_QUEUE_TTL).toBe("30s");
    expect(settings.TEKTON_LINEAGE_MANAGE_CERTIFICATES).toBe("false");
    expect(yaml).toContain(`image: ghcr.io/tekton-lineage/tekton-lineage@${digest}`);
    expect(yaml).not.toMatch(/namespace: tekton-lineage$/m);
    const out = kubectlApply(withCheckNames(yaml), { dryRun: true });
    for (const applied of [
      `deployment.apps/tekton-lineage serverside-applied`,
      "mutatingwebhookconfiguration.admissionregistration.k8s.io/tekton-lineage-release-check serverside-applied",
      "validatingwebhookconfiguration.admissionregistration.k8s.io/tekton-lineage-release-check serverside-applied",
      "certificate.cert-manager.io/tekton-lineage serverside-applied",
      "podmonitor.monitoring.coreos.com/tekton-lineage serverside-applied",
    ])
      expect(out).toContain(applied);
  });
});

describe("the README's Helm commands, on a control plane of their own", () => {
  // A real install registers cluster-wide webhooks whose Service has no pods here: on the shared control
  // plane they would refuse other files' runs, so this cluster is its own.
  let cluster: ControlPlaneState;
  beforeAll(async () => {
    cluster = await startControlPlane();
    return () => stopControlPlane(cluster, { keep: process.env.E2E_KEEP === "1" });
  });

  it("install, upgrade with a setting, and uninstall webhook configurations first", async () => {
    const kubectl = (...args: string[]) =>
      run(e2eContext().kubectl, [...args, `--kubeconfig=${cluster.kubeconfig}`]).then((r) => r.stdout);
    const helmHere = (args: string[]) => helm(...args, `--kubeconfig=${cluster.kubeconfig}`);
    const install = readmeCommand("helm install tekton-lineage charts/tekton-lineage");
    expect(install.slice(0, 2)).toEqual(["helm", "install"]);
    await helmHere(install.slice(1).map((a) => (a === "charts/tekton-lineage" ? chartDir : a)));
    const settings = async () =>
      (
        JSON.parse(
          await kubectl("get", "configmap", "tekton-lineage", "-n", "tekton-lineage", "-o", "json"),
        ) as {
          data: Record<string, string>;
        }
      ).data;
    expect((await settings()).TEKTON_LINEAGE_GITLAB_URL).toBe("https://gitlab.example.com");
    expect((await settings()).TEKTON_LINEAGE_MANAGE_CERTIFICATES).toBe("true");
    expect(await kubectl("get", "mutatingwebhookconfiguration", "tekton-lineage", "-o", "name")).toContain(
      "tekton-lineage",
    );

    const upgrade = readmeCommand("helm upgrade tekton-lineage charts/tekton-lineage");
    await helmHere([
      ...upgrade.slice(1).map((a) => (a === "charts/tekton-lineage" ? chartDir : a)),
      "--set",
      "settings.log-level=debug",
    ]);
    expect((await settings()).TEKTON_LINEAGE_LOG_LEVEL).toBe("debug");
    expect((await settings()).TEKTON_LINEAGE_GITLAB_URL).toBe("https://gitlab.example.com");
    const mutating = JSON.parse(
      await kubectl("get", "mutatingwebhookconfiguration", "tekton-lineage", "-o", "json"),
    ) as {
      webhooks: { name: string }[];
    };
    // The opt-in Component: an enforcing and an audit webhook, each for the namespaces labelled so.
    expect(mutating.webhooks.map((w) => w.name)).toEqual([
      "mutate.pipelineruns.tekton-lineage.io",
      "audit.mutate.pipelineruns.tekton-lineage.io",
    ]);

    const [del, ...deleteArgs] = readmeCommand(
      "kubectl delete mutatingwebhookconfiguration,validatingwebhookconfiguration",
    );
    expect(del).toBe("kubectl");
    await kubectl(...deleteArgs);
    const uninstall = readmeCommand("helm uninstall tekton-lineage");
    await helmHere(uninstall.slice(1));
    await eventually(
      "helm uninstall removed everything it installed",
      async () =>
        (await kubectl(
          "get",
          "clusterroles,deployments,configmaps,services",
          "-A",
          "-l",
          "app.kubernetes.io/name=tekton-lineage",
          "-o",
          "name",
        )) === "",
    );
  });
});

describe("the release files (make release-files)", () => {
  const digest = `sha256:${"c".repeat(64)}`;
  const image = `ghcr.io/tekton-lineage/tekton-lineage@${digest}`;
  const tag = `v${(JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version}`;
  let out: string;

  beforeAll(async () => {
    out = mkdtempSync(join(e2eContext().logDir, "release-"));
    await run("make", ["--no-print-directory", "-C", root, "release-files", `TAG=${tag}`, `IMAGE=${image}`], {
      env: { ...process.env, RELEASE_OUT: out },
      maxBuffer: 16 * 1024 * 1024,
    });
  });

  it("ship the install manifest and the chart with the image by digest", async () => {
    const manifest = readFileSync(join(out, "tekton-lineage.yaml"), "utf8");
    expect(manifest).toContain(`image: ${image}\n`);
    expect(kubectlApply(withCheckNames(withPodCidr(manifest)), { dryRun: true })).toContain(
      "deployment.apps/tekton-lineage serverside-applied",
    );
    const packaged = join(out, `tekton-lineage-${tag.slice(1)}.tgz`);
    expect(
      await helm("template", "tekton-lineage", packaged, "--set", `networkPolicy.podCIDR=${podCidr}`),
    ).toContain(`image: ${image}\n`);
    const sums = readFileSync(join(out, "SHA256SUMS"), "utf8");
    for (const file of ["notes.md", "tekton-lineage.yaml", `kubectl-lineage-${tag}.tar.gz`, "lineage.yaml"])
      expect(sums).toMatch(new RegExp(`^[0-9a-f]{64}  ${file.replaceAll(".", "\\.")}$`, "m"));
  });

  it("ship a kubectl plugin that krew validates and installs from its archive, and kubectl then runs", async () => {
    const manifest = join(out, "lineage.yaml");
    await run(tools.VALIDATE_KREW_MANIFEST as string, ["-manifest", manifest, "-skip-install"]);
    const krewRoot = mkdtempSync(join(e2eContext().logDir, "krew-"));
    await run(
      tools.KREW as string,
      ["install", `--manifest=${manifest}`, `--archive=${join(out, `kubectl-lineage-${tag}.tar.gz`)}`],
      { env: { ...process.env, KREW_ROOT: krewRoot } },
    );
    // kubectl finds the plugin krew linked, run by the Node on the PATH, with the archive's own modules.
    const { kubectl, kubeconfig } = e2eContext();
    const env = {
      ...process.env,
      PATH: `${join(krewRoot, "bin")}:${dirname(process.execPath)}:/usr/bin:/bin`,
    };
    const kubectlLineage = async (...args: string[]) =>
      (await run(kubectl, ["lineage", ...args, `--kubeconfig=${kubeconfig}`], { env, cwd: krewRoot })).stdout;
    expect(await kubectlLineage("version")).toMatch(
      new RegExp(`^kubectl-lineage ${tag.slice(1)} \\(Node v\\d+`),
    );
    expect(await kubectlLineage("queue", "list", "-o", "json")).toMatch(/^\{/);
  });
});
