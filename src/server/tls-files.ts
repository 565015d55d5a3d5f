import { X509Certificate } from "node:crypto";
import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createSecureContext, type SecureContextOptions } from "node:tls";

export interface KeyPair {
  cert: string;
  key: string;
  /** Expiry of the leaf certificate. */
  notAfter: Date;
}

/** Reads a certificate and key and proves they form a usable pair before anyone serves with them. */
export async function readKeyPair(certFile: string, keyFile: string): Promise<KeyPair> {
  const [cert, key] = await Promise.all([readFile(certFile, "utf8"), readFile(keyFile, "utf8")]);
  const options: SecureContextOptions = { cert, key };
  createSecureContext(options); // throws when the key does not match the certificate or either is malformed
  const leaf = new X509Certificate(cert);
  return { cert, key, notAfter: new Date(leaf.validTo) };
}

/**
 * A fingerprint of both files (following symlinks, as Secret volumes swap them), so a poller can tell
 * when either changed without reading them.
 */
export function fileStamp(...files: string[]): string {
  return files
    .map((file) => {
      try {
        const s = statSync(file);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return "missing";
      }
    })
    .join("|");
}
