import type { RunMeta } from "../core/tekton.ts";
import { admissionKeys, isOwnedAnnotation, isOwnedLabel, signatureKey } from "../core/vocabulary.ts";
import { type SigningKey, signatureMatches } from "./claims.ts";
import { type LineageRule, lineageOf } from "./lineage.ts";
import { attemptName } from "./names.ts";

/** A create recognised as a rerun of an existing run: its copied claims, to be replaced. */
export interface Rerun {
  /** The run whose claims were copied. */
  original: string;
  /** The create without tekton-lineage's keys, named as a new attempt of the original's lineage would be. */
  subject: RunMeta;
  /** The original was waiting in tekton-lineage's queue (its copied spec.status Pending is not the author's). */
  wasQueuePending: boolean;
}

/** The readable part of a run's name, from its lineage key (pac/…/<pipeline>, rule/<ns>/<base>/…). */
function baseOfKey(key: string): string | undefined {
  const parts = key.split("/");
  if (parts[0] === "pac") return parts.at(-1);
  if (parts[0] === "rule") return parts[2];
  return undefined;
}

/** The run's metadata without any key tekton-lineage owns. */
export function withoutClaims(subject: RunMeta): RunMeta {
  return {
    ...subject,
    annotations: Object.fromEntries(
      Object.entries(subject.annotations).filter(([k]) => !isOwnedAnnotation(k)),
    ),
    labels: Object.fromEntries(Object.entries(subject.labels).filter(([k]) => !isOwnedLabel(k))),
  };
}

/**
 * Whether a create carrying claims it was not given is a copy of an existing run — the OpenShift
 * console's and Tekton Dashboard's "Rerun" copy a run's labels and annotations — rather than a forgery:
 * its claims, with the original's name, verify as tekton-lineage's signature over exactly that run in
 * this namespace, and the create still belongs to the same lineage. The original's name is the one
 * tekton-lineage gave that attempt; runs named by their authors are not recognised. Claims that were not
 * copied from a run tekton-lineage admitted stay refused.
 */
export function rerunOf(subject: RunMeta, keys: readonly SigningKey[], rule: LineageRule): Rerun | undefined {
  const a = subject.annotations;
  const signature = a[signatureKey];
  const key = a[admissionKeys.lineage];
  const id = a[admissionKeys.lineageId];
  const attempt = Number(a[admissionKeys.attempt]);
  const base = key ? baseOfKey(key) : undefined;
  if (!signature || !key || !id || !base || !Number.isSafeInteger(attempt) || attempt < 1) return undefined;
  let original: string;
  try {
    original = attemptName(base, id, attempt);
  } catch {
    return undefined;
  }
  // The signature covers the admission keys and owned labels; keys written later (queue position,
  // decision) are not signed, and are dropped with the rest.
  const signed = Object.fromEntries(
    Object.entries(a).filter(
      ([k]) => (Object.values(admissionKeys) as string[]).includes(k) || k === signatureKey,
    ),
  );
  const copied: RunMeta = { ...subject, name: original, annotations: signed };
  if (!signatureMatches(keys, copied, signature)) return undefined;
  const fresh: RunMeta = { ...withoutClaims(subject), name: "", generateName: `${base}-` };
  if (lineageOf(fresh, rule).key !== key) return undefined;
  return { original, subject: fresh, wasQueuePending: a[admissionKeys.pendingByQueue] === "true" };
}
