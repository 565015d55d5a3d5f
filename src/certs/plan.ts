import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";

import { tlsKeys } from "../server/tls-keys.ts";

export interface CertificatePolicy {
  /** DNS names and IPs the serving certificate must cover. */
  sans: readonly string[];
  servingValidMs: number;
  /** Renew the serving certificate when it has less than this left. */
  renewBeforeMs: number;
  caValidMs: number;
}

export type CertificateAction =
  | { action: "none"; servingExpires: Date }
  | { action: "renew-serving"; why: string }
  | { action: "renew-ca"; why: string };

function read(pem: string | undefined): X509Certificate | undefined {
  if (!pem) return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** Splits names into DNS names and IP addresses. */
export function splitSans(sans: readonly string[]): { dnsNames: string[]; ips: string[] } {
  return { dnsNames: sans.filter((s) => isIP(s) === 0), ips: sans.filter((s) => isIP(s) !== 0) };
}

/**
 * What the certificate Secret needs now: nothing, a new serving certificate (missing, expiring within
 * renewBefore, not covering every name, or not signed by the current CA), or a new CA (missing, or
 * expiring before a serving certificate it signs would).
 */
export function certificateAction(
  data: Record<string, string>,
  policy: CertificatePolicy,
  now: Date,
): CertificateAction {
  const ca = read(data[tlsKeys.ca]?.split(/(?<=-----END CERTIFICATE-----)/)[0]);
  if (!ca || !data[tlsKeys.caKey]) return { action: "renew-ca", why: "no CA yet" };
  const caLeft = Date.parse(ca.validTo) - now.getTime();
  if (caLeft < policy.servingValidMs + policy.renewBeforeMs) {
    return { action: "renew-ca", why: `CA expires ${ca.validTo}` };
  }
  const serving = read(data[tlsKeys.cert]);
  if (!serving || !data[tlsKeys.key]) return { action: "renew-serving", why: "no serving certificate yet" };
  if (!serving.verify(ca.publicKey))
    return { action: "renew-serving", why: "serving certificate not signed by the current CA" };
  const left = Date.parse(serving.validTo) - now.getTime();
  if (left < policy.renewBeforeMs)
    return { action: "renew-serving", why: `serving certificate expires ${serving.validTo}` };
  const missing = policy.sans.filter(
    (name) => !(isIP(name) ? serving.checkIP(name) : serving.checkHost(name)),
  );
  if (missing.length > 0)
    return { action: "renew-serving", why: `serving certificate does not cover ${missing.join(", ")}` };
  return { action: "none", servingExpires: new Date(serving.validTo) };
}

/** The CA bundle to trust: the current CA and, until it expires, the one before it. */
export function caBundle(current: string, previous: string | undefined, now: Date): string {
  const old = read(previous);
  const keep =
    old && Date.parse(old.validTo) > now.getTime() && old.fingerprint256 !== read(current)?.fingerprint256;
  return keep && previous ? `${current.trim()}\n${previous.trim()}\n` : `${current.trim()}\n`;
}
