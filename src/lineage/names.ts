import { lineageIdLength } from "./lineage.ts";

export const maxNameLength = 63;

/** Lower case, anything outside [a-z0-9-] becomes '-', runs of '-' collapse, no '-' at either end. */
export function sanitizeBase(raw: string): string {
  const cleaned = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-+|-+$/g, "");
  return cleaned || "run";
}

/**
 * The name of attempt `attempt` of a lineage: `<base>-<lineage id>-<attempt>`, at most 63 characters.
 *
 * Never a collision: the suffix `-<10-character id>-<digits>` is read back unambiguously from the end
 * of the name (the id has a fixed length, the attempt is the digits after the last dash), so two
 * different (lineage id, attempt) pairs always give different suffixes, whatever the base. The base is
 * only for people; it is cut deterministically (from the end) to make room.
 */
export function attemptName(base: string, lineageId: string, attempt: number): string {
  if (lineageId.length !== lineageIdLength || !/^[a-z2-7]+$/.test(lineageId)) {
    throw new Error(`lineage id must be ${lineageIdLength} base32 characters, got "${lineageId}"`);
  }
  if (!Number.isSafeInteger(attempt) || attempt < 1)
    throw new Error(`attempt must be a positive integer, got ${attempt}`);
  const suffix = `-${lineageId}-${attempt}`;
  const room = maxNameLength - suffix.length;
  const cut = sanitizeBase(base).slice(0, room).replace(/-+$/, "");
  return `${cut || "run"}${suffix}`;
}

/** Reads (lineage id, attempt) back from a name made by attemptName, or undefined. */
export function parseAttemptName(name: string): { lineageId: string; attempt: number } | undefined {
  const match = new RegExp(`-([a-z2-7]{${lineageIdLength}})-([1-9][0-9]*)$`).exec(name);
  if (!match) return undefined;
  return { lineageId: match[1] ?? "", attempt: Number(match[2]) };
}
