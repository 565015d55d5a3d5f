import { describe, expect, it } from "vitest";
import type { PipelineRun } from "../../core/tekton.ts";
import { defaultPacConfig, type PacConfig, readPacConfig } from "../../pac/config.ts";
import { runLinks } from "./links.ts";

const run = (logUrl?: string): PipelineRun => ({
  metadata: {
    name: "build-abc-2",
    namespace: "team-a",
    labels: { "tekton-lineage.io/lineage-id": "abc" },
    annotations: {
      "tekton-lineage.io/attempt": "2",
      ...(logUrl ? { "pipelinesascode.tekton.dev/log-url": logUrl } : {}),
    },
  },
});
const dashboard = readPacConfig({ "tekton-dashboard-url": "https://dashboard.example/" });
const custom = readPacConfig({
  "custom-console-url": "https://konflux.example",
  "custom-console-url-pr-details": "https://konflux.example/ns/{{ namespace }}/run/{{ pr }}",
});

describe("runLinks", () => {
  it.each<{ what: string; flag?: string; logUrl?: string; config: PacConfig; expected: string }>([
    {
      what: "--console-url wins over everything",
      flag: "https://console.example/{{ namespace }}/{{ pr }}/{lineage}/{attempt}",
      logUrl: "https://pac.example/x",
      config: dashboard,
      expected: "https://console.example/team-a/build-abc-2/abc/2",
    },
    {
      what: "else PaC's own link for the run (log-url)",
      logUrl: "https://pac.example/team-a/build-abc-2",
      config: dashboard,
      expected: "https://pac.example/team-a/build-abc-2",
    },
    {
      what: "else the Tekton Dashboard of PaC's settings",
      config: dashboard,
      expected: "https://dashboard.example/#/namespaces/team-a/pipelineruns/build-abc-2",
    },
    {
      what: "else PaC's custom console",
      config: custom,
      expected: "https://konflux.example/ns/team-a/run/build-abc-2",
    },
    {
      what: "a log-url naming no run (PaC's placeholder) is never used",
      logUrl: "https://dashboard.is.not.configured",
      config: defaultPacConfig,
      expected: "",
    },
    {
      what: "a log-url that is the console's root is never used",
      logUrl: "https://konflux.example/",
      config: custom,
      expected: "https://konflux.example/ns/team-a/run/build-abc-2",
    },
  ])("$what", ({ flag, logUrl, config, expected }) => {
    expect(runLinks({ console: flag }, () => config).run(run(logUrl))).toBe(expected);
  });

  it("names a run by every link tekton-lineage or PaC may have given it", () => {
    const links = runLinks({ console: "https://c.example/{{ pr }}" }, () => dashboard);
    expect(links.namesOf(run("https://pac.example/build-abc-2"))).toEqual([
      "https://c.example/build-abc-2",
      "https://pac.example/build-abc-2",
      "https://dashboard.example/#/namespaces/team-a/pipelineruns/build-abc-2",
    ]);
  });

  it("links an attempt never created to --error-url only", () => {
    const missing = { namespace: "team-a", name: "build-abc-1", lineageId: "abc", attempt: 1 };
    expect(
      runLinks({ error: "https://errors.example/{namespace}/{lineage}/{attempt}" }, () => custom).missing(
        missing,
      ),
    ).toBe("https://errors.example/team-a/abc/1");
    expect(runLinks({}, () => custom).missing(missing)).toBe("");
  });
});
