import type { RequestListener } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { Counter, Gauge, type Registry } from "prom-client";
import type { HostPort } from "../config/parsers.ts";
import type { Logger } from "../observability/logger.ts";
import { fileStamp, type KeyPair, readKeyPair } from "./tls-files.ts";

export interface HttpsServerOptions {
  listen: HostPort;
  certFile: string;
  keyFile: string;
  logger: Logger;
  registry: Registry;
  /** How often the certificate files are checked for changes. */
  reloadIntervalMs?: number;
}

export interface RunningHttpsServer {
  server: Server;
  port: number;
  /** Re-reads the certificate files now; resolves true when a new pair was installed. */
  reloadNow(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Serves HTTPS with the certificate from files, and swaps in a new certificate when the files change
 * (checked every reloadIntervalMs) without a restart. A half-written pair (new cert, old key) is refused
 * and the old pair keeps serving until both files agree.
 */
export async function startHttpsServer(
  app: RequestListener,
  options: HttpsServerOptions,
): Promise<RunningHttpsServer> {
  const { logger } = options;
  const reloads = new Counter({
    name: "tekton_lineage_tls_reloads_total",
    help: "Serving certificate reloads, by result (loaded, refused).",
    labelNames: ["result"],
    registers: [options.registry],
  });
  const expiry = new Gauge({
    name: "tekton_lineage_tls_certificate_expiry_timestamp_seconds",
    help: "Expiry (Unix time) of the serving certificate in use.",
    registers: [options.registry],
  });
  let stamp = fileStamp(options.certFile, options.keyFile);
  const first = await readKeyPair(options.certFile, options.keyFile);
  expiry.set(first.notAfter.getTime() / 1000);
  const server = createServer({ cert: first.cert, key: first.key }, app);
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.requestTimeout = 30_000;

  const install = (pair: KeyPair) => {
    server.setSecureContext({ cert: pair.cert, key: pair.key });
    expiry.set(pair.notAfter.getTime() / 1000);
    reloads.inc({ result: "loaded" });
    logger.info({ notAfter: pair.notAfter.toISOString() }, "serving certificate reloaded");
  };
  const reloadNow = async (): Promise<boolean> => {
    const current = fileStamp(options.certFile, options.keyFile);
    try {
      const pair = await readKeyPair(options.certFile, options.keyFile);
      stamp = current;
      install(pair);
      return true;
    } catch (error) {
      reloads.inc({ result: "refused" });
      logger.warn(
        { err: error },
        "certificate files changed but do not form a valid pair yet; keeping the old one",
      );
      return false;
    }
  };
  let checking = false;
  const poll = setInterval(() => {
    if (checking || fileStamp(options.certFile, options.keyFile) === stamp) return;
    checking = true;
    void reloadNow().finally(() => {
      checking = false;
    });
  }, options.reloadIntervalMs ?? 1000);
  poll.unref();

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.listen.port, options.listen.host || undefined, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: options.listen.host, port }, "listening");
  return {
    server,
    port,
    reloadNow,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(poll);
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
