import { readFileSync } from "node:fs";
import { loadAllYaml } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { renderConfigMap, renderSettingsDoc } from "./configmap.ts";
import { loadConfig } from "./load.ts";

const file = new URL("../../webhook-config/base/configmap.yaml", import.meta.url);

describe("docs/settings.md", () => {
  it("is the one rendered from the settings table (run `make configmap` after changing a setting)", () => {
    expect(readFileSync(new URL("../../docs/settings.md", import.meta.url), "utf8")).toBe(
      renderSettingsDoc(),
    );
  });
});

describe("the ConfigMap of webhook-config/base", () => {
  it("is the one rendered from the settings table (run `make configmap` after changing a setting)", () => {
    expect(readFileSync(file, "utf8")).toBe(renderConfigMap());
  });

  it("holds values tekton-lineage accepts", () => {
    const [configMap] = loadAllYaml(readFileSync(file, "utf8")) as { data: Record<string, string> }[];
    expect(() => loadConfig(["all"], configMap?.data ?? {})).not.toThrow();
    expect(loadConfig(["all"], configMap?.data ?? {}).config.manageCertificates).toBe(true);
  });
});
