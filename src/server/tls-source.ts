import type { KubeConfig } from "@kubernetes/client-node";
import type { Registry } from "prom-client";
import type { Logger } from "../observability/logger.ts";
import { refusedPair } from "./https-server.ts";
import { type KeyPair, keyPair, readKeyPair, watchKeyPairFiles } from "./tls-files.ts";
import { watchKeyPairSecret } from "./tls-secret.ts";

export interface TlsSource {
  /** The pair to start serving with. */
  initial: KeyPair;
  /** True once the real certificate is in use (a temporary one is not). */
  readonly ready: boolean;
  /** Begins installing new pairs as they come. */
  start(install: (pair: KeyPair, source: string) => void): void;
  stop(): void;
}

/** Serving certificate from files, reloaded when they change. */
export async function fileTlsSource(options: {
  certFile: string;
  keyFile: string;
  logger: Logger;
  registry: Registry;
}): Promise<TlsSource> {
  const initial = await readKeyPair(options.certFile, options.keyFile);
  let watcher: { stop(): void } | undefined;
  return {
    initial,
    ready: true,
    start(install) {
      watcher = watchKeyPairFiles({
        certFile: options.certFile,
        keyFile: options.keyFile,
        install: (pair) => install(pair, options.certFile),
        refused: () => refusedPair(options.registry),
        logger: options.logger,
      });
    },
    stop: () => watcher?.stop(),
  };
}

/**
 * Serving certificate from a Secret. Until the Secret holds a pair (on a first install the reconciler
 * leader makes it), a temporary self-signed certificate answers probes and readiness stays false.
 */
export async function secretTlsSource(options: {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  logger: Logger;
  registry: Registry;
}): Promise<TlsSource> {
  const { generateCa, issueServing } = await import("./certificates.ts");
  const now = new Date();
  const ca = await generateCa("tekton-lineage temporary", now, 86_400_000);
  const temporary = await issueServing(ca, { dnsNames: ["localhost"], ips: ["127.0.0.1"] }, now, 86_400_000);
  let watcher: ReturnType<typeof watchKeyPairSecret> | undefined;
  return {
    initial: keyPair(temporary.certPem, temporary.keyPem),
    get ready() {
      return watcher?.loaded ?? false;
    },
    start(install) {
      watcher = watchKeyPairSecret({
        kubeConfig: options.kubeConfig,
        namespace: options.namespace,
        name: options.name,
        install: (pair) => install(pair, `Secret ${options.namespace}/${options.name}`),
        refused: () => refusedPair(options.registry),
        logger: options.logger,
      });
      watcher.start();
    },
    stop: () => watcher?.stop(),
  };
}
