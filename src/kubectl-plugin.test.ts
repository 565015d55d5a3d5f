import { describe, expect, it } from "vitest";
import { PluginUsageError, parsePluginArgs, runPlugin } from "./kubectl-plugin.ts";

describe("parsePluginArgs", () => {
  it.each<[string[], Partial<ReturnType<typeof parsePluginArgs>>]>([
    [
      ["explain", "build-1", "-n", "team-a"],
      { verb: ["explain", "build-1"], namespace: "team-a", output: "text" },
    ],
    [
      ["queue", "list", "-o", "yaml"],
      { verb: ["queue", "list"], output: "yaml", lineageNamespace: "tekton-lineage" },
    ],
    [
      [
        "--context",
        "prod",
        "--kubeconfig",
        "/k",
        "--lineage-namespace",
        "ci",
        "queue",
        "list",
        "--output=json",
      ],
      { context: "prod", kubeconfig: "/k", lineageNamespace: "ci", output: "json" },
    ],
    [["explain", "--commit", "abc", "-n", "x"], { commit: "abc", namespace: "x" }],
  ])("%j", (argv, want) => expect(parsePluginArgs(argv)).toMatchObject(want));

  it.each([
    [["queue", "list", "-o", "wide"], '--output must be json or yaml, not "wide"'],
    [["queue", "list", "--namespaces=x"], "Unknown option '--namespaces'"],
  ])("refuses %j", (argv, message) => {
    expect(() => parsePluginArgs(argv)).toThrow(PluginUsageError);
    expect(() => parsePluginArgs(argv)).toThrow(message);
  });
});

describe("runPlugin", () => {
  it("prints its usage without a verb, and refuses an unknown one", async () => {
    expect(await runPlugin([])).toContain("kubectl lineage explain <pipelinerun>");
    // Refused before any kubeconfig is read.
    await expect(runPlugin(["bogus", "--kubeconfig=/nonexistent"])).rejects.toThrow(
      'unknown command "bogus": explain, queue or version',
    );
  });
});
