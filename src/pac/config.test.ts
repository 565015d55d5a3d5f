import { describe, expect, it } from "vitest";
import { defaultPacConfig, namesNoRun, type PacConfig, pacDetailUrl, readPacConfig } from "./config.ts";

describe("readPacConfig", () => {
  it.each<{ data: Record<string, string> | undefined; expected: PacConfig }>([
    { data: undefined, expected: defaultPacConfig },
    { data: {}, expected: defaultPacConfig },
    {
      data: { "application-name": " Konflux Production Internal " },
      expected: { applicationName: "Konflux Production Internal", console: { kind: "other" } },
    },
    {
      data: { "tekton-dashboard-url": "https://dash.example/" },
      expected: {
        applicationName: "Pipelines as Code CI",
        console: { kind: "dashboard", root: "https://dash.example" },
      },
    },
    {
      data: {
        "tekton-dashboard-url": "https://dash.example",
        "custom-console-url": "https://c.example",
        "custom-console-url-pr-details": "https://c.example/{{ namespace }}/{{ pr }}",
      },
      expected: {
        applicationName: "Pipelines as Code CI",
        console: {
          kind: "custom",
          root: "https://c.example",
          detailTemplate: "https://c.example/{{ namespace }}/{{ pr }}",
        },
      },
    },
  ])("reads $data as PaC does", ({ data, expected }) => {
    expect(readPacConfig(data)).toEqual(expected);
  });
});

describe("pacDetailUrl", () => {
  it("fills the custom console's template, and gives up where PaC falls back to the root", () => {
    const config = (detail: string) =>
      readPacConfig({ "custom-console-url": "https://c.example", "custom-console-url-pr-details": detail });
    expect(pacDetailUrl(config("https://c.example/{{namespace}}/{{ pr }}"), "ns", "run-1")).toBe(
      "https://c.example/ns/run-1",
    );
    expect(
      pacDetailUrl(config("https://c.example/{{ namespace }}/{{ task }}"), "ns", "run-1"),
    ).toBeUndefined();
    expect(pacDetailUrl(config("not a url {{ pr }}"), "ns", "run-1")).toBeUndefined();
    expect(pacDetailUrl(defaultPacConfig, "ns", "run-1")).toBeUndefined();
  });
});

describe("namesNoRun", () => {
  it("knows a console's root and PaC's placeholders", () => {
    const config = readPacConfig({ "custom-console-url": "https://c.example" });
    expect(namesNoRun(config, "https://c.example/")).toBe(true);
    expect(namesNoRun(config, "https://dashboard.is.not.configured")).toBe(true);
    expect(namesNoRun(config, "")).toBe(true);
    expect(namesNoRun(config, "https://c.example/ns/run-1")).toBe(false);
  });
});
