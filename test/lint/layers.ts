/**
 * The layers of src/, bottom to top. A source file may import from its own folder or from a folder of a
 * lower layer; never up, never sideways (two folders of one layer know nothing of each other). Tests
 * (*.test.ts) may import anything; src/testing/ serves tests only.
 *
 *   node test/lint/layers.ts        prints every import that breaks the rule; exits 1 when there is one
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const layers: readonly (readonly string[])[] = [
  ["observability"],
  ["config"],
  ["kube"],
  ["server"],
  ["core"],
  ["lineage", "certs", "pac"],
  ["queue", "gitlab"],
  ["admission", "explain"],

  ["roles"],
  ["cli.ts", "kubectl-plugin.ts", "node-floor.ts"],
  ["main.ts", "kubectl-lineage.ts"],
];

/**
 * Folders whose sub-folders are layered too, bottom to top: gitlab/'s two controllers share its client
 * and its trouble handling, the PaC failure corrector builds on the lineage reporter's statuses (never the
 * other way); the queue's admission and reconcile halves share only the queue's state.
 */
export const innerLayers: Readonly<Record<string, readonly (readonly string[])[]>> = {
  gitlab: [["client"], ["."], ["status"], ["pac-failure"]],
  queue: [["."], ["admit", "reconcile"]],
};

/** The inner folder of a path under src/ ("." for a file directly in its top folder). */
function innerFolderOf(path: string): string {
  const parts = path.split("/");
  return parts.length > 2 ? (parts[1] ?? ".") : ".";
}

/** Why `from` may not import `to` inside `folder`'s inner layers, or undefined when it may. */
function innerProblem(folder: string, from: string, to: string): string | undefined {
  const inner = innerLayers[folder];
  const [a, b] = [innerFolderOf(from), innerFolderOf(to)];
  if (!inner || a === b) return undefined;
  const [i, j] = [inner.findIndex((l) => l.includes(a)), inner.findIndex((l) => l.includes(b))];
  if (i === -1) return `${folder}/${a}/ is in no inner layer (test/lint/layers.ts)`;
  if (j === -1) return `${folder}/${b}/ is in no inner layer (test/lint/layers.ts)`;
  if (j > i) return `points up inside ${folder}/: ${a} (inner layer ${i}) imports ${b} (inner layer ${j})`;
  if (j === i) return `points sideways inside ${folder}/: ${a} and ${b} share inner layer ${i}`;
  return undefined;
}

/** The layer of a path under src/ (its first segment), or undefined for a folder no layer names. */
export function layerOf(path: string): number | undefined {
  const first = path.split("/")[0] ?? "";
  const index = layers.findIndex((layer) => layer.includes(first));
  return index === -1 ? undefined : index;
}

/** Why `from` (a path under src/) may not import `to`, or undefined when it may. */
export function importProblem(from: string, to: string): string | undefined {
  if (from.endsWith(".test.ts") || from.startsWith("testing/")) return undefined;
  const [fromFolder, toFolder] = [from.split("/")[0], to.split("/")[0]];
  if (toFolder === "testing") return "src/testing/ serves tests only";
  if (fromFolder === toFolder) return innerProblem(fromFolder ?? "", from, to);
  const [a, b] = [layerOf(from), layerOf(to)];
  if (a === undefined) return `${fromFolder}/ is in no layer (test/lint/layers.ts)`;
  if (b === undefined) return `${toFolder}/ is in no layer (test/lint/layers.ts)`;
  if (b > a) return `points up: ${fromFolder} (layer ${a}) imports ${toFolder} (layer ${b})`;
  if (b === a) return `points sideways: ${fromFolder} and ${toFolder} share layer ${a}`;
  return undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every import under `src` that breaks the rule, as "file: import — why". */
export function violations(src: string): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(src)) {
    const from = relative(src, file);
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      const to = relative(src, normalize(join(dirname(file), match[1] ?? "")));
      if (to.startsWith("..")) continue;
      const problem = importProblem(from, to);
      if (problem) found.push(`src/${from}: ${match[1]} — ${problem}`);
    }
  }
  return found;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const src = fileURLToPath(new URL("../../src", import.meta.url));
  const found = violations(src);
  for (const line of found) process.stderr.write(`${line}\n`);
  if (found.length > 0) {
    process.stderr.write(`${found.length} import(s) break the layers of src/ (see test/lint/layers.ts)\n`);
    process.exit(1);
  }
  process.stdout.write("layers: every import of src/ points down\n");
}
