/**
 * The release check and notes: a tag v<version> releases package.json's version, whose CHANGELOG.md
 * section becomes the release notes. The tag workflow runs this first; a mismatch stops the release.
 *
 *   node release/notes.ts <tag>     prints the notes, or says what is wrong and exits 2
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The text under `## <version>` (or `## v<version>`, any words after it), without the heading. */
export function changelogSection(changelog: string, version: string): string | undefined {
  const lines = changelog.split("\n");
  const heading = new RegExp(`^## v?${version.replaceAll(".", "\\.")}(?:\\s|$)`);
  const start = lines.findIndex((l) => heading.test(l));
  if (start < 0) return undefined;
  const end = lines.findIndex((l, k) => k > start && /^## /.test(l));
  const body = lines
    .slice(start + 1, end < 0 ? undefined : end)
    .join("\n")
    .trim();
  return body === "" ? undefined : `${body}\n`;
}

/** Why the tag cannot be released from these files, or undefined when it can. */
export function releaseProblem(tag: string, packageVersion: string, chartVersion: string, changelog: string) {
  if (tag !== `v${packageVersion}`) return `tag ${tag} is not v${packageVersion}, package.json's version`;
  if (chartVersion !== packageVersion) {
    return `charts/tekton-lineage is at ${chartVersion}, not ${packageVersion}: run make chart`;
  }
  if (changelogSection(changelog, packageVersion) === undefined) {
    return `CHANGELOG.md has no "## ${packageVersion}" section: name the Unreleased one`;
  }
  return undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(fileURLToPath(import.meta.url), "../..");
  const tag = process.argv[2] ?? "";
  const read = (p: string) => readFileSync(join(root, p), "utf8");
  const version = (JSON.parse(read("package.json")) as { version: string }).version;
  const chartVersion = /^version: (.*)$/m.exec(read("charts/tekton-lineage/Chart.yaml"))?.[1] ?? "";
  const changelog = read("CHANGELOG.md");
  const problem = releaseProblem(tag, version, chartVersion, changelog);
  if (problem) {
    process.stderr.write(`release: ${problem}\n`);
    process.exit(2);
  }
  process.stdout.write(changelogSection(changelog, version) ?? "");
}
