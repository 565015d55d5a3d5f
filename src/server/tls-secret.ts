import type { KubeConfig } from "@kubernetes/client-node";
import { secretInformer } from "../kube/named-object-source.ts";
import type { Logger } from "../observability/logger.ts";
import { type KeyPair, keyPair } from "./tls-files.ts";
import { tlsKeys } from "./tls-keys.ts";

/**
 * Serves the certificate kept in a Secret (read through a watch, so a rotation reaches every replica
 * within moments and needs no restart, and no volume has to exist before the pod starts).
 */
export function watchKeyPairSecret(options: {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  install: (pair: KeyPair) => void;
  refused: (error: unknown) => void;
  logger: Logger;
}): { readonly loaded: boolean; start(): void; stop(): void } {
  let served = "";
  let loaded = false;
  const informer = secretInformer({
    name: "tls-secret",
    kubeConfig: options.kubeConfig,
    namespace: options.namespace,
    secretName: options.name,
    resyncMs: 300_000,
    logger: options.logger,
  });
  informer.onChange((secret, event) => {
    if (event === "deleted" || secret.metadata.name !== options.name) return;
    const data = secret.data ?? {};
    const cert = Buffer.from(data[tlsKeys.cert] ?? "", "base64").toString("utf8");
    const key = Buffer.from(data[tlsKeys.key] ?? "", "base64").toString("utf8");
    if (!cert || !key || `${cert}${key}` === served) return;
    try {
      options.install(keyPair(cert, key));
      served = `${cert}${key}`;
      loaded = true;
    } catch (error) {
      options.refused(error);
      options.logger.warn(
        { err: error, secret: options.name },
        "TLS Secret holds no valid pair; keeping the one in use",
      );
    }
  });
  return {
    get loaded() {
      return loaded;
    },
    start: () => informer.start(),
    stop: () => informer.stop(),
  };
}
