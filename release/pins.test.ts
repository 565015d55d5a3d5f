import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/** What the release builds from is pinned: base images by digest, and nothing native in the image. */
const root = fileURLToPath(new URL("..", import.meta.url));
const file = (path: string) => readFileSync(join(root, path), "utf8");

describe("the image's inputs", () => {
  it("names every base image by the digest of its multi-arch index", () => {
    const from = [...file("Dockerfile").matchAll(/^FROM\s+(?:--platform=\S+\s+)?(\S+)/gm)].map((m) => m[1]);
    expect(from.length).toBeGreaterThan(0);
    for (const image of from) expect(image).toMatch(/^[^@\s]+:[^@\s]+@sha256:[0-9a-f]{64}$/);
  });

  it("has production dependencies without native code, so the amd64 build stage serves the arm64 image", () => {
    // package-lock.json marks what only development needs; the rest is copied into the image as built.
    const lock = JSON.parse(file("package-lock.json")) as {
      packages: Record<string, { dev?: boolean; hasInstallScript?: boolean; os?: string[]; cpu?: string[] }>;
    };
    const production = Object.entries(lock.packages).filter(([path, p]) => path !== "" && !p.dev);
    expect(production.length).toBeGreaterThan(10);
    const native = production.filter(([, p]) => p.hasInstallScript || p.os || p.cpu).map(([path]) => path);
    expect(native).toEqual([]);
  });
});
