import { describe, expect, it } from "vitest";
import { changelogSection, releaseProblem } from "./notes.ts";

const changelog = [
  "# Changelog",
  "",
  "## Upgrades: the version-skew rule",
  "text",
  "",
  "## Unreleased",
  "- next",
  "",
  "## v0.2.0 — 2026-12-05",
  "- second",
  "",
  "## 0.1.0",
  "",
  "The first version.",
  "",
].join("\n");

describe("changelogSection", () => {
  it.each<[string, string | undefined]>([
    ["0.2.0", "- second\n"],
    ["0.1.0", "The first version.\n"],
    ["0.1", undefined],
    ["0.3.0", undefined],
  ])("%s", (version, expected) => {
    expect(changelogSection(changelog, version)).toBe(expected);
  });

  it("takes no heading that only starts like the version", () => {
    expect(changelogSection("## 0.1.0-rc.1\n- rc\n", "0.1.0")).toBeUndefined();
  });
});

describe("releaseProblem", () => {
  it.each<[string, string, string, string | undefined]>([
    ["v0.2.0", "0.2.0", "0.2.0", undefined],
    ["0.2.0", "0.2.0", "0.2.0", "tag 0.2.0 is not v0.2.0, package.json's version"],
    ["v0.2.1", "0.2.0", "0.2.0", "tag v0.2.1 is not v0.2.0, package.json's version"],
    ["v0.2.0", "0.2.0", "0.1.0", "charts/tekton-lineage is at 0.1.0, not 0.2.0: run make chart"],
    ["v0.4.0", "0.4.0", "0.4.0", 'CHANGELOG.md has no "## 0.4.0" section: name the Unreleased one'],
  ])("%s with package %s and chart %s", (tag, version, chart, expected) => {
    expect(releaseProblem(tag, version, chart, changelog)).toBe(expected);
  });
});
