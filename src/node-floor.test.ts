import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { nodeFloor, nodeTooOld } from "./node-floor.ts";

const file = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");

describe("nodeTooOld", () => {
  it.each([
    ["20.20.2", "22.19.0", true],
    ["v22.18.9", "22.19.0", true],
    ["22.19.0", "22.19.0", false],
    ["22.20.0", "22.19.0", false],
    ["24.0.0", "22.19.0", false],
    ["22.9.0", "22.19.0", true], // numeric, not text, comparison
  ])("Node %s against floor %s: refused %s", (version, floor, refused) => {
    const message = nodeTooOld(version, floor);
    expect(message !== undefined).toBe(refused);
    if (refused)
      expect(message).toMatch(
        new RegExp(`needs Node ${floor} or newer; this is Node ${version.replace("v", "")}`),
      );
  });

  it("agrees with package.json's engines, the Dockerfile's Node and the README", () => {
    expect(JSON.parse(file("package.json")).engines.node).toBe(`>=${nodeFloor}`);
    const dockerMajors = [...file("Dockerfile").matchAll(/node(?:js)?:?(\d+)/g)].map((m) => Number(m[1]));
    expect(dockerMajors.length).toBeGreaterThan(0);
    for (const major of dockerMajors) expect(major).toBeGreaterThanOrEqual(Number(nodeFloor.split(".")[0]));
    expect(file("README.md")).toContain(`Node ${nodeFloor}`);
  });
});
