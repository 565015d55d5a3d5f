import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * The release a rolling upgrade comes from: v0.1.0 as it last landed on main before the version-skew
 * rule (CHANGELOG.md). Move it forward with each release.
 */
export const previousRelease = { name: "v0.1.0", commit: "8c637862b3cb06fe3494e3a37b0996a550e6ac0e" };

/**
 * The previous release's dist/main.js, built once from this repository's history (git archive of its
 * sources, compiled with this checkout's TypeScript and node_modules, which it shares) and kept under
 * .ci/previous-release/. Throws, saying why, where the history does not have the commit (a shallow clone).
 */
export function previousReleaseMain(): string {
  const dir = join(root, ".ci/previous-release", previousRelease.commit);
  const main = join(dir, "dist/main.js");
  if (existsSync(main)) return main;
  try {
    execFileSync("git", ["-C", root, "cat-file", "-e", `${previousRelease.commit}^{commit}`]);
  } catch {
    throw new Error(
      `the previous release ${previousRelease.name} (${previousRelease.commit}) is not in this clone's history; the upgrade test needs a full clone (git fetch --unshallow)`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tarball = join(dir, "sources.tar");
  execFileSync("git", [
    "-C",
    root,
    "archive",
    `--output=${tarball}`,
    previousRelease.commit,
    "src",
    "package.json",
    "tsconfig.json",
    "tsconfig.build.json",
  ]);
  execFileSync("tar", ["-x", "-C", dir, "-f", tarball]);
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", join(dir, "tsconfig.build.json")], {
    stdio: "inherit",
  });
  return main;
}
