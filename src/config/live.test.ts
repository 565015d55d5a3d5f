import { describe, expect, it } from "vitest";
import { settingsChange } from "./live.ts";
import { loadConfig } from "./load.ts";

const startEnv = {
  TEKTON_LINEAGE_LOG_LEVEL: "info",
  TEKTON_LINEAGE_GITLAB_RESYNC: "2m",
  TEKTON_LINEAGE_QUEUE_TTL: "10s",
  TEKTON_LINEAGE_INSTANCE_ID: "pod-1",
};
const current = loadConfig([], startEnv).config;

describe("settingsChange", () => {
  it.each<[string, Record<string, string>, { live: object; refused: number; needRestart: string[] }]>([
    ["nothing changed", { ...startEnv }, { live: {}, refused: 0, needRestart: [] }],
    [
      "a live setting: applied, no restart",
      { ...startEnv, TEKTON_LINEAGE_LOG_LEVEL: "debug", TEKTON_LINEAGE_GITLAB_RESYNC: "30s" },
      { live: { logLevel: "debug", gitlabResync: 30_000 }, refused: 0, needRestart: [] },
    ],
    [
      "a live value that does not parse: refused, the old one kept",
      { ...startEnv, TEKTON_LINEAGE_GITLAB_RESYNC: "soon" },
      { live: {}, refused: 1, needRestart: [] },
    ],
    [
      "a setting that needs a restart",
      { ...startEnv, TEKTON_LINEAGE_QUEUE_TTL: "20s" },
      { live: {}, refused: 0, needRestart: ["queue-ttl"] },
    ],
    [
      "a setting removed from the ConfigMap goes back to its default: a restart",
      { TEKTON_LINEAGE_LOG_LEVEL: "info", TEKTON_LINEAGE_GITLAB_RESYNC: "2m" },
      { live: {}, refused: 0, needRestart: ["queue-ttl"] },
    ],
  ])("%s", (_what, data, want) => {
    const change = settingsChange(data, current, startEnv);
    expect(change.live).toEqual(want.live);
    expect(change.refused).toHaveLength(want.refused);
    expect(change.needRestart).toEqual(want.needRestart);
  });

  it("checksums only what needs a restart: a live change keeps it, another moves it", () => {
    const base = settingsChange(startEnv, current, startEnv).checksum;
    expect(
      settingsChange({ ...startEnv, TEKTON_LINEAGE_LOG_LEVEL: "warn" }, current, startEnv).checksum,
    ).toBe(base);
    expect(
      settingsChange({ ...startEnv, TEKTON_LINEAGE_QUEUE_TTL: "20s" }, current, startEnv).checksum,
    ).not.toBe(base);
  });

  it("leaves alone what a flag set: flags win over the environment the ConfigMap fills", () => {
    const data = { ...startEnv, TEKTON_LINEAGE_LOG_LEVEL: "debug", TEKTON_LINEAGE_QUEUE_TTL: "20s" };
    const change = settingsChange(data, current, startEnv, new Set(["log-level", "queue-ttl"]));
    expect(change.live).toEqual({});
    expect(change.needRestart).toEqual([]);
  });
});
