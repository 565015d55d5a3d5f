import { createHash } from "node:crypto";
import { acceptedPacValue } from "../core/pac-values.ts";
import type { RunMeta } from "../core/tekton.ts";
import { pac } from "../core/vocabulary.ts";

export interface LineageRule {
  /** Label keys whose values separate lineages of runs that PaC did not create. */
  labels: readonly string[];
}

export interface Lineage {
  /** Readable and unique: what the lineage is, as text. */
  key: string;
  /** Short, stable, label-safe digest of the key (10 characters of base32). */
  id: string;
  source: "pac" | "rule";
  /** The readable part of the run's name. */
  base: string;
  /** The fields the key was made from, for people (annotations and GitLab descriptions). */
  parts: Record<string, string>;
}

export const lineageIdLength = 10;

/**
 * One pipeline, for one commit, for one event: retests of the same pipeline on the same commit are
 * attempts of one lineage; another commit, pipeline, merge request or event kind is another lineage.
 *
 * For runs PaC made (repository, sha and original-prname present) the key is
 *   pac/<namespace>/<repository>/<event class>/<pull request or ->/<sha>/<original-prname>
 * The event class is pull_request when the run belongs to a merge request, incoming for incoming
 * webhooks, and push otherwise. PaC's raw event-type is not used as is: a `/retest` comment produces
 * retest-comment (or pull_request on older PaC) for the same merge request and commit, and a retest
 * must continue the lineage, not start a new one.
 *
 * Other runs use a configurable rule: namespace, the generateName prefix (or the name), and the values
 * of chosen labels.
 */
export function lineageOf(subject: RunMeta, rule: LineageRule): Lineage {
  // Only values PaC could have written make a PaC lineage: its key is kept on the run and in a counter.
  const read = (key: string) => {
    const value = subject.annotations[key] ?? subject.labels[key];
    return value === undefined ? undefined : acceptedPacValue(key, value);
  };
  const repository = read(pac.repository);
  const sha = read(pac.sha);
  const pipeline = read(pac.originalPrName);
  if (repository && sha && pipeline) {
    const pullRequest = read(pac.pullRequest) ?? "";
    const eventClass =
      read(pac.eventType) === "incoming" ? "incoming" : pullRequest ? "pull_request" : "push";
    const parts = { namespace: subject.namespace, repository, event: eventClass, pullRequest, sha, pipeline };
    const key = ["pac", subject.namespace, repository, eventClass, pullRequest || "-", sha, pipeline].join(
      "/",
    );
    return { key, id: lineageIdOf(key), source: "pac", base: pipeline, parts };
  }
  const base = baseOf(subject);
  const chosen = rule.labels.map((label) => [label, subject.labels[label] ?? ""] as const);
  const key = ["rule", subject.namespace, base, ...chosen.map(([k, v]) => `${k}=${v}`)].join("/");
  return {
    key,
    id: lineageIdOf(key),
    source: "rule",
    base,
    parts: { namespace: subject.namespace, base, ...Object.fromEntries(chosen) },
  };
}

/** generateName without its trailing dash, else the name, else "run". */
export function baseOf(subject: Pick<RunMeta, "name" | "generateName">): string {
  const fromGenerate = subject.generateName?.replace(/-+$/, "");
  return fromGenerate || subject.name || "run";
}

const base32 = "abcdefghijklmnopqrstuvwxyz234567";

/** The first 10 base32 characters (50 bits) of SHA-256 of the key: lower case letters and digits only. */
export function lineageIdOf(key: string): string {
  const digest = createHash("sha256").update(key).digest();
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < lineageIdLength) {
      out += base32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length === lineageIdLength) break;
  }
  return out;
}
