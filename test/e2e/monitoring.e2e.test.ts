import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadAllYaml } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureNamespace } from "./controlplane/install.ts";
import { tektonLineageCli } from "./support/cli.ts";
import { adminKubeConfig, e2eContext } from "./support/context.ts";
import { installAddonCrds, kubectlApply } from "./support/manifests.ts";
import { createSuite } from "./support/suite.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";

/**
 * The dashboard and the alerts in webhook-config/monitoring/ name only metrics a running tekton-lineage
 * exposes (a renamed metric would leave a panel empty and an alert silent), and the rule file is a
 * PrometheusRule with alerts an operator can act on.
 */
const monitoring = fileURLToPath(new URL("../../webhook-config/monitoring/", import.meta.url));
const suite = createSuite("monitoring");
let lineage: LineageProcess;

interface Rule {
  alert?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
type RuleFile = { kind: string; spec: { groups: { name: string; rules: Rule[] }[] } };

const rules = (): Rule[] => {
  const [file] = loadAllYaml(readFileSync(`${monitoring}prometheusrule.yaml`, "utf8")) as RuleFile[];
  return file?.spec.groups.flatMap((group) => group.rules) ?? [];
};
const dashboard = () => readFileSync(`${monitoring}dashboard.json`, "utf8");
/** Metric names in PromQL text, a histogram's series (_bucket, _sum, _count) read as the histogram. */
const metricNames = (text: string) => new Set([...text.matchAll(/tekton_lineage_[a-z_]+/g)].map((m) => m[0]));

beforeAll(async () => {
  const namespace = await suite.namespace("runs");
  lineage = await startTektonLineage({ role: "all", args: [`--watch-namespaces=${namespace}`] });
});

afterAll(async () => {
  await lineage?.stop();
  await suite.cleanup();
});

describe("webhook-config/monitoring", () => {
  it("names only metrics that a running tekton-lineage exposes", async () => {
    const { body } = await lineage.get("/metrics");
    const types = new Map([...body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    const exposed = (name: string) => {
      if (types.has(name)) return true;
      const base = name.replace(/_(bucket|sum|count)$/, "");
      return types.get(base) === "histogram";
    };
    const named = new Set([
      ...metricNames(dashboard()),
      ...rules().flatMap((r) => [...metricNames(r.expr ?? "")]),
    ]);
    expect(named.size).toBeGreaterThan(15);
    expect([...named].filter((name) => !exposed(name))).toEqual([]);
  });

  it("is a PrometheusRule whose alerts each say how bad, what happened and what to look at", () => {
    const [file] = loadAllYaml(readFileSync(`${monitoring}prometheusrule.yaml`, "utf8")) as RuleFile[];
    expect(file?.kind).toBe("PrometheusRule");
    const alerts = rules();
    expect(alerts.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        "TektonLineageAdmissionFallbacks",
        "TektonLineageGitLabProblems",
        "TektonLineageQueueHeadPastMaxWait",
        "TektonLineageNoLeader",
        "TektonLineageCertificateExpiring",
      ]),
    );
    for (const rule of alerts) {
      expect(rule.alert).toMatch(/^TektonLineage[A-Za-z]+$/);
      expect(rule.for).toMatch(/^\d+m$/);
      expect(["warning", "critical"]).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toBeTruthy();
      expect(rule.annotations?.description).toBeTruthy();
      // A PromQL expression whose brackets do not pair is refused by Prometheus when the rule loads.
      const expr = rule.expr ?? "";
      for (const [open, close] of [
        ["(", ")"],
        ["{", "}"],
        ["[", "]"],
      ] as const)
        expect(expr.split(open).length, `${rule.alert}: ${open}${close} in ${expr}`).toBe(
          expr.split(close).length,
        );
    }
  });

  it("renders with kustomize into the rule and a dashboard ConfigMap Grafana's sidecar picks up", () => {
    const rendered = loadAllYaml(
      execFileSync(e2eContext().kubectl, ["kustomize", monitoring], { encoding: "utf8" }),
    ) as {
      kind: string;
      metadata: { name: string; labels?: Record<string, string> };
      data?: Record<string, string>;
    }[];
    expect(rendered.map((o) => o.kind).sort()).toEqual(["ConfigMap", "PodMonitor", "PrometheusRule"]);
    const configMap = rendered.find((o) => o.kind === "ConfigMap");
    expect(configMap?.metadata.labels?.grafana_dashboard).toBe("1");
    const panels = JSON.parse(configMap?.data?.["dashboard.json"] ?? "{}").panels as { title: string }[];
    expect(panels.map((p) => p.title)).toEqual(
      expect.arrayContaining([
        "Reviews by outcome",
        "/mutate latency",
        "Waiting",
        "Requests by status",
        "Lease conflicts",
      ]),
    );
  });

  it("gives every alert a runbook in docs/runbooks.md, and fires none before the first scrape", () => {
    const runbooks = readFileSync(fileURLToPath(new URL("../../docs/runbooks.md", import.meta.url)), "utf8");
    const sections = new Set([...runbooks.matchAll(/^## (\S+)$/gm)].map((m) => m[1]));
    const alerts = rules();
    for (const rule of alerts) {
      const anchor = (rule.alert ?? "").toLowerCase();
      expect(rule.annotations?.runbook_url).toBe(`docs/runbooks.md#${anchor}`);
      expect(sections.has(anchor), `docs/runbooks.md has no "## ${anchor}"`).toBe(true);
      // absent() is true before Prometheus ever scraped tekton-lineage: such an alert fires when applied.
      expect(rule.expr, `${rule.alert} uses absent()`).not.toMatch(/\babsent(_over_time)?\s*\(/);
    }
    // Scrapes that fail are said by one alert, on the PodMonitor's job.
    expect(alerts.find((r) => r.alert === "TektonLineageDown")?.expr).toContain('up{job="tekton-lineage"}');
  });

  it("lets the dashboard choose cluster, namespace and job, and scopes every query by them", () => {
    const parsed = JSON.parse(dashboard()) as {
      templating: { list: { name: string }[] };
      panels: { targets?: { expr: string }[] }[];
    };
    expect(parsed.templating.list.map((v) => v.name)).toEqual(["datasource", "cluster", "namespace", "job"]);
    const exprs = parsed.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    expect(exprs.length).toBeGreaterThan(20);
    for (const expr of exprs)
      for (const series of expr.matchAll(/tekton_lineage_[a-z_]+(\{[^}]*\})?/g))
        expect(series[1] ?? "", `${series[0]} in ${expr}`).toContain(
          'cluster=~"$cluster", namespace=~"$namespace", job=~"$job"',
        );
  });

  it("is accepted by the API server with the Prometheus Operator's own CRDs (server-side dry run)", async () => {
    await installAddonCrds();
    await ensureNamespace(adminKubeConfig(), "tekton-lineage");
    const kit = execFileSync(e2eContext().kubectl, ["kustomize", monitoring], { encoding: "utf8" });
    const out = kubectlApply(kit, { dryRun: true });
    expect(out).toMatch(/podmonitor\.monitoring\.coreos\.com\/tekton-lineage serverside-applied/);
    expect(out).toMatch(/prometheusrule\.monitoring\.coreos\.com\/tekton-lineage serverside-applied/);
  });

  it("says which version runs: tekton_lineage_build_info and `tekton-lineage version`", async () => {
    const { version } = JSON.parse(
      readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8"),
    ) as { version: string };
    const { body } = await lineage.get("/metrics");
    expect(body).toMatch(
      new RegExp(`^tekton_lineage_build_info\\{version="${version}",node="v[\\d.]+"\\} 1$`, "m"),
    );
    expect(JSON.parse(await tektonLineageCli("version", "--output=json"))).toMatchObject({ version });
  });
});
