import { describe, expect, it } from "vitest";
import { explainQuery, takeExplainFlags } from "./args.ts";

const sha = "4d6f1f0c2b1e8a7d9c3b5a4f6e8d7c9b1a2f3e4d";

describe("takeExplainFlags", () => {
  it.each([
    [["explain", "ns/run"], { argv: ["explain", "ns/run"] }],
    [
      ["explain", "--lineage", "abc", "--output", "json"],
      { argv: ["explain", "--output", "json"], lineage: "abc" },
    ],
    [["explain", `--commit=${sha}`], { argv: ["explain"], commit: sha }],
  ])("%j", (argv, expected) => {
    expect(takeExplainFlags(argv)).toEqual(expected);
  });

  it("refuses a flag without its value", () => {
    expect(() => takeExplainFlags(["explain", "--lineage"])).toThrow("--lineage needs a value");
  });
});

describe("explainQuery", () => {
  it.each([
    [{ target: "team-a/build-x-2" }, { run: { namespace: "team-a", name: "build-x-2" } }],
    [{ lineage: "abc" }, { lineage: "abc" }],
    [{ lineage: "team-a/abc" }, { lineage: "abc", namespace: "team-a" }],
    [{ commit: sha }, { commit: sha }],
    [{ commit: `team-a/${sha}` }, { commit: sha, namespace: "team-a" }],
  ])("%j", (args, expected) => {
    expect(explainQuery(args)).toEqual(expected);
  });

  it.each([
    [{}, /exactly one of/],
    [{ target: "ns/run", lineage: "abc" }, /exactly one of/],
    [{ target: "run" }, /is not <namespace>\/<pipelinerun>/],
    [{ commit: "4d6f1f0" }, /not a whole commit sha/],
  ])("refuses %j", (args, message) => {
    expect(() => explainQuery(args)).toThrow(message);
  });
});
