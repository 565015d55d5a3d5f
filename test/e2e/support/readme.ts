import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const readme = fileURLToPath(new URL("../../../README.md", import.meta.url));

/**
 * The words of the README command (an indented line) that begins with `start`: it continues over lines
 * ending in a backslash, and a comment ends it. Tests run or compare what the README tells users.
 */
export function readmeCommand(start: string): string[] {
  const text = readFileSync(readme, "utf8");
  const at = text.indexOf(`    ${start}`);
  if (at < 0) throw new Error(`README.md has no command beginning "${start}"`);
  const lines: string[] = [];
  for (const line of text.slice(at).split("\n")) {
    lines.push(
      line
        .replace(/\s+#.*$/, "")
        .replace(/\\$/, "")
        .trim(),
    );
    if (!line.endsWith("\\")) break;
  }
  return lines.join(" ").split(/\s+/).filter(Boolean);
}
