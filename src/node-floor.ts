/**
 * The oldest Node tekton-lineage runs on, the same as package.json's `engines` (a test checks they agree).
 * Its dependencies (client-node's undici among them) fail on older Node with errors that do not say so.
 */
export const nodeFloor = "22.19.0";

/** A one-line refusal when `version` (as process.versions.node) is older than `floor`, else undefined. */
export function nodeTooOld(version: string, floor: string = nodeFloor): string | undefined {
  const have = version.replace(/^v/, "").split(".").map(Number);
  const need = floor.split(".").map(Number);
  for (let i = 0; i < need.length; i++) {
    const h = have[i] ?? 0;
    const n = need[i] ?? 0;
    if (h > n) return undefined;
    if (h < n)
      return `tekton-lineage needs Node ${floor} or newer; this is Node ${version.replace(/^v/, "")} (${process.execPath})`;
  }
  return undefined;
}
