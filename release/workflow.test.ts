import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadYaml } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { readmeCommand } from "../test/e2e/support/readme.ts";

/**
 * The tag workflow's promises, read from the file (it runs only on a tag, where GitHub runs it): what it
 * builds for, what it attaches and signs, and with which rights. Its release files are made and
 * installed by test/e2e/release.e2e.test.ts with the same script.
 */
interface Step {
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string | boolean>;
  env?: Record<string, string>;
}
interface Workflow {
  on: { push: { tags: string[] } };
  permissions: Record<string, string>;
  jobs: Record<string, { permissions: Record<string, string>; steps: Step[] }>;
}

const root = fileURLToPath(new URL("..", import.meta.url));
const workflow = loadYaml(readFileSync(join(root, ".github/workflows/release.yaml"), "utf8")) as Workflow;
const steps = Object.values(workflow.jobs).flatMap((j) => j.steps);
const runs = steps.map((s) => s.run ?? "").join("\n");
const step = (uses: string) => steps.find((s) => s.uses?.startsWith(`${uses}@`));

describe("the release workflow", () => {
  it("runs on version tags only, with no rights but the ones its job names", () => {
    expect(workflow.on).toEqual({ push: { tags: ["v*.*.*"] } });
    expect(workflow.permissions).toEqual({});
    expect(workflow.jobs.release?.permissions).toEqual({
      contents: "write",
      packages: "write",
      "id-token": "write",
      attestations: "write",
    });
  });

  it("checks the tag against package.json, the chart and the CHANGELOG before building", () => {
    const check = steps.findIndex((s) => s.run?.includes('node release/notes.ts "$GITHUB_REF_NAME"'));
    const build = steps.findIndex((s) => s.id === "build");
    expect(check).toBeGreaterThanOrEqual(0);
    expect(check).toBeLessThan(build);
  });

  it("builds the image for amd64 and arm64 with an SBOM and provenance, and signs it by digest", () => {
    const build = step("docker/build-push-action");
    expect(build?.id).toBe("build");
    expect(build?.with).toMatchObject({
      platforms: "linux/amd64,linux/arm64",
      push: true,
      sbom: true,
      provenance: "mode=max",
    });
    expect(step("docker/setup-qemu-action")).toBeDefined();
    expect(runs).toContain('cosign sign --yes "$IMAGE@$DIGEST"');
    expect(step("actions/attest-build-provenance")?.with?.["subject-digest"]).toContain(
      "steps.build.outputs.digest",
    );
  });

  it("verifies the image's signature with the README's command", () => {
    const words = (text: string) => text.replaceAll("\\\n", " ").split(/\s+/).filter(Boolean);
    const documented = readmeCommand("cosign verify");
    const verify = steps.find((s) => s.run?.startsWith("cosign verify"))?.run ?? "";
    expect(documented.slice(3)).toEqual(words(verify).slice(3, 3 + documented.length - 3));
    expect(documented.length).toBe(7);
  });

  it("attaches the release files made with the pushed digest, the chart and checksums signed", () => {
    expect(runs).toContain('make release-files TAG="$GITHUB_REF_NAME" IMAGE="$IMAGE@$DIGEST"');
    expect(runs).toMatch(/helm"? push dist\/release\/tekton-lineage-/);
    expect(runs).toContain("cosign sign-blob --yes --bundle dist/release/SHA256SUMS.sigstore.json");
    expect(runs).toMatch(/gh release create "\$GITHUB_REF_NAME" --verify-tag[\s\S]*dist\/release\/\*/);
  });

  it("names a released version of every action, never a branch", () => {
    for (const s of steps.filter((s) => s.uses))
      expect(s.uses, s.uses).toMatch(/^[\w.-]+\/[\w.-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/);
  });
});
