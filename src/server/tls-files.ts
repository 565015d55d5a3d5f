import { X509Certificate } from "node:crypto";
import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createSecureContext } from "node:tls";
import type { Logger } from "../observability/logger.ts";

export interface KeyPair {
  cert: string;
  key: string;
  /** Expiry of the leaf certificate. */
  notAfter: Date;
}

/** Proves a certificate and key form a usable pair before anyone serves with them. */
export function keyPair(cert: string, key: string): KeyPair {
  createSecureContext({ cert, key }); // throws when the key does not match the certificate or either is malformed
  return { cert, key, notAfter: new Date(new X509Certificate(cert).validTo) };
}

export async function readKeyPair(certFile: string, keyFile: string): Promise<KeyPair> {
  const [cert, key] = await Promise.all([readFile(certFile, "utf8"), readFile(keyFile, "utf8")]);
  return keyPair(cert, key);
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

/**
 * Polls the certificate files and installs the pair when either changes. A half-written pair (a new
 * certificate with the old key) is refused and the old pair keeps serving until both files agree.
 */
export function watchKeyPairFiles(options: {
  certFile: string;
  keyFile: string;
  install: (pair: KeyPair) => void;
  refused: (error: unknown) => void;
  intervalMs?: number;
  logger: Logger;
}): { reloadNow(): Promise<boolean>; stop(): void } {
  let stamp = fileStamp(options.certFile, options.keyFile);
  let checking = false;
  const reloadNow = async (): Promise<boolean> => {
    const current = fileStamp(options.certFile, options.keyFile);
    try {
      const pair = await readKeyPair(options.certFile, options.keyFile);
      stamp = current;
      options.install(pair);
      return true;
    } catch (error) {
      options.refused(error);
      options.logger.warn(
        { err: error },
        "certificate files changed but do not form a valid pair yet; keeping the old one",
      );
      return false;
    }
  };
  const timer = setInterval(() => {
    if (checking || fileStamp(options.certFile, options.keyFile) === stamp) return;
    checking = true;
    void reloadNow().finally(() => {
      checking = false;
    });
  }, options.intervalMs ?? 1000);
  timer.unref();
  return { reloadNow, stop: () => clearInterval(timer) };
}
