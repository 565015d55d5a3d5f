import { createHmac, type KeyObject, timingSafeEqual } from "node:crypto";
import type { RunMeta } from "../core/tekton.ts";
import {
  admissionKeys,
  isOwnedAnnotation,
  isOwnedLabel,
  labelKeys,
  reconcilerKeys,
  signatureKey,
} from "../core/vocabulary.ts";
import { lineageIdLength } from "./lineage.ts";

/**
 * An HMAC key and its id. Signatures name the key that made them ("<id>:<mac>"), so a key stays as long
 * as a live run was signed with it, and a verifier that does not know the id yet can fetch it first.
 */
export interface SigningKey {
  id: string;
  /** A KeyObject made once is cheaper per signature than raw bytes. */
  key: KeyObject | Buffer;
}

/** The keys claims are signed and verified with (SigningKeys; fixed keys in tests). */
export interface KeyRing {
  /** The key new signatures use. */
  current(): SigningKey;
  /** Every key a signature may have been made with. */
  all(): SigningKey[];
  /** Makes sure the key with this id is known (reading the Secret again if not); true when it is. */
  ensure?(id: string): Promise<boolean>;
}

/** Before verifying: fetch the key the subject's signature names, if the ring does not know it yet. */
export async function learnSigner(keys: KeyRing, subject: RunMeta): Promise<void> {
  const signature = subject.annotations[signatureKey];
  const id = signature ? signatureKeyId(signature) : undefined;
  if (id && !keys.all().some((k) => k.id === id)) await keys.ensure?.(id);
}

/** The id of the key a signature names; undefined for a signature of the first version (a bare MAC). */
export function signatureKeyId(signature: string): string | undefined {
  const colon = signature.indexOf(":");
  return colon > 0 ? signature.slice(0, colon) : undefined;
}

export type ClaimsCheck =
  | { state: "absent" }
  | { state: "valid" }
  | { state: "forged"; detail: string }
  | { state: "malformed"; detail: string };

const signedAnnotationKeys: readonly string[] = Object.values(admissionKeys);
const reconcilerAnnotationKeys: readonly string[] = Object.values(reconcilerKeys);

/** The exact text the signature covers: namespace, name, every admission annotation and owned label. */
export function canonicalClaims(subject: RunMeta): string {
  const annotations = Object.entries(subject.annotations)
    .filter(([key]) => signedAnnotationKeys.includes(key))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  const labels = Object.entries(subject.labels)
    .filter(([key]) => isOwnedLabel(key))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([subject.namespace, subject.name ?? "", annotations, labels]);
}

function mac(key: SigningKey, subject: RunMeta): Buffer {
  return createHmac("sha256", key.key).update(canonicalClaims(subject)).digest();
}

export function signClaims(key: SigningKey, subject: RunMeta): string {
  return `${key.id}:${mac(key, subject).toString("base64url")}`;
}

/** The signature was made over exactly these claims with one of the keys (the one it names, if it does). */
export function signatureMatches(keys: readonly SigningKey[], subject: RunMeta, signature: string): boolean {
  const id = signatureKeyId(signature);
  const given = Buffer.from(id === undefined ? signature : signature.slice(id.length + 1), "base64url");
  const candidates = id === undefined ? keys : keys.filter((key) => key.id === id);
  return candidates.some((key) => {
    const expected = mac(key, subject);
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
}

/**
 * The run's claims are genuine: signed by tekton-lineage for this very name and namespace. What the
 * reconciler asks before acting on a run's claims (no age limit: runs live long; replays are refused
 * at creation).
 */
export function claimsGenuine(subject: RunMeta, keys: readonly SigningKey[]): boolean {
  const signature = subject.annotations[signatureKey];
  return signature !== undefined && signatureMatches(keys, subject, signature);
}

const howToFix =
  "tekton-lineage.io/ annotations and labels are assigned when a PipelineRun is admitted; remove them from the object you create (a copy of an existing run carries them too)";

/**
 * Decides whether the tekton-lineage keys on a new object were written by the mutating webhook for this
 * very object: well-formed values, a valid signature over them, and an admission time no older than
 * maxAgeMs (so a copy of an old run cannot replay its claims).
 */
export function checkClaims(
  subject: RunMeta,
  keys: readonly SigningKey[],
  now: Date,
  maxAgeMs: number,
): ClaimsCheck {
  const ownAnnotations = Object.keys(subject.annotations).filter(isOwnedAnnotation);
  const ownLabels = Object.keys(subject.labels).filter(isOwnedLabel);
  if (ownAnnotations.length === 0 && ownLabels.length === 0) return { state: "absent" };

  const unknown = ownAnnotations.filter(
    (key) =>
      key !== signatureKey && !signedAnnotationKeys.includes(key) && !reconcilerAnnotationKeys.includes(key),
  );
  if (unknown.length > 0) {
    return {
      state: "malformed",
      detail: `unknown tekton-lineage annotation ${unknown.join(", ")}; ${howToFix}`,
    };
  }
  const malformed = formatProblems(subject);
  if (malformed.length > 0) return { state: "malformed", detail: `${malformed.join("; ")}; ${howToFix}` };

  const fromReconciler = ownAnnotations.filter((key) => reconcilerAnnotationKeys.includes(key));
  if (fromReconciler.length > 0) {
    return {
      state: "forged",
      detail: `${fromReconciler.join(", ")} is written by tekton-lineage after admission, never at creation; ${howToFix}`,
    };
  }
  const signature = subject.annotations[signatureKey];
  const claimed = [...ownAnnotations.filter((k) => k !== signatureKey), ...ownLabels].join(", ");
  if (!signature)
    return { state: "forged", detail: `${claimed} not set by tekton-lineage (no signature); ${howToFix}` };
  if (!signatureMatches(keys, subject, signature)) {
    return { state: "forged", detail: `${claimed} do not match tekton-lineage's signature; ${howToFix}` };
  }
  const admittedAt = Date.parse(subject.annotations[admissionKeys.admittedAt] ?? "");
  if (!Number.isFinite(admittedAt) || Math.abs(now.getTime() - admittedAt) > maxAgeMs) {
    return {
      state: "forged",
      detail: `claims were admitted at ${subject.annotations[admissionKeys.admittedAt]}, not for this request (a replayed copy); ${howToFix}`,
    };
  }
  return { state: "valid" };
}

const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const positiveInteger = /^[1-9][0-9]{0,15}$/;
const lineageId = new RegExp(`^[a-z2-7]{${lineageIdLength}}$`);

function formatProblems(subject: RunMeta): string[] {
  const a = subject.annotations;
  const l = subject.labels;
  const problems: string[] = [];
  const expect = (present: string | undefined, valid: boolean, what: string) => {
    if (present !== undefined && !valid) problems.push(what);
  };
  expect(
    a[admissionKeys.attempt],
    positiveInteger.test(a[admissionKeys.attempt] ?? ""),
    `${admissionKeys.attempt} must be a positive whole number, got "${a[admissionKeys.attempt]}"`,
  );
  expect(
    l[labelKeys.attempt],
    positiveInteger.test(l[labelKeys.attempt] ?? ""),
    `label ${labelKeys.attempt} must be a positive whole number, got "${l[labelKeys.attempt]}"`,
  );
  expect(
    a[admissionKeys.lineageId],
    lineageId.test(a[admissionKeys.lineageId] ?? ""),
    `${admissionKeys.lineageId} must be ${lineageIdLength} characters of [a-z2-7]`,
  );
  expect(
    l[labelKeys.lineageId],
    lineageId.test(l[labelKeys.lineageId] ?? ""),
    `label ${labelKeys.lineageId} must be ${lineageIdLength} characters of [a-z2-7]`,
  );
  expect(
    a[admissionKeys.admittedAt],
    rfc3339.test(a[admissionKeys.admittedAt] ?? ""),
    `${admissionKeys.admittedAt} must be an RFC 3339 time`,
  );
  expect(
    a[admissionKeys.enqueuedAt],
    rfc3339.test(a[admissionKeys.enqueuedAt] ?? ""),
    `${admissionKeys.enqueuedAt} must be an RFC 3339 time`,
  );
  expect(
    a[admissionKeys.queueTicket],
    positiveInteger.test(a[admissionKeys.queueTicket] ?? ""),
    `${admissionKeys.queueTicket} must be a positive whole number`,
  );
  if (a[admissionKeys.attempt] && l[labelKeys.attempt] && a[admissionKeys.attempt] !== l[labelKeys.attempt]) {
    problems.push(`label and annotation ${admissionKeys.attempt} disagree`);
  }
  if (
    a[admissionKeys.lineageId] &&
    l[labelKeys.lineageId] &&
    a[admissionKeys.lineageId] !== l[labelKeys.lineageId]
  ) {
    problems.push(`label and annotation ${admissionKeys.lineageId} disagree`);
  }
  if (a[signatureKey] !== undefined && a[admissionKeys.admittedAt] === undefined) {
    problems.push(`${signatureKey} without ${admissionKeys.admittedAt}`);
  }
  return problems;
}
