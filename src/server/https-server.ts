import type { RequestListener } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { Counter, Gauge, type Registry } from "prom-client";
import type { HostPort } from "../config/parsers.ts";
import type { Logger } from "../observability/logger.ts";
import type { KeyPair } from "./tls-files.ts";

export interface HttpsServerOptions {
  listen: HostPort;
  /** The pair to serve with until another is installed. */
  initial: KeyPair;
  /** PEM of the CA whose client certificates are verified (requested, not required: probes have none). */
  clientCa?: string;
  maxConnections?: number;
  /** How long a client may take: its TLS handshake, its headers, its whole request (ms; 10 s, 5 s, 10 s). */
  timeouts?: { handshakeMs: number; headersMs: number; requestMs: number };
  logger: Logger;
  registry: Registry;
}

const defaultTimeouts = { handshakeMs: 10_000, headersMs: 5_000, requestMs: 10_000 };

export interface RunningHttpsServer {
  server: Server;
  port: number;
  /** Serves new connections with this pair from now on (no restart); `source` is for logs. */
  install(pair: KeyPair, source: string): void;
  close(): Promise<void>;
}

/** HTTPS whose certificate can be swapped while serving; where pairs come from is the caller's business. */
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
  expiry.set(options.initial.notAfter.getTime() / 1000);
  const clientAuth = options.clientCa
    ? { ca: options.clientCa, requestCert: true, rejectUnauthorized: false }
    : {};
  const timeouts = options.timeouts ?? defaultTimeouts;
  // The API server keeps connections open between reviews; a client that dawdles is cut off: its TLS
  // handshake within 10 s, its headers within 5 s, a whole request within 10 s (the admission deadline is
  // 3 s). Node checks the last two only every connectionsCheckingInterval (30 s by default), so a client
  // that never finishes its headers would hold its connection for half a minute: checked every second.
  const server = createServer(
    {
      cert: options.initial.cert,
      key: options.initial.key,
      ...clientAuth,
      handshakeTimeout: timeouts.handshakeMs,
      connectionsCheckingInterval: Math.min(1_000, timeouts.headersMs),
    },
    app,
  );
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = timeouts.headersMs;
  server.requestTimeout = timeouts.requestMs;
  if (options.maxConnections) server.maxConnections = options.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.listen.port, options.listen.host || undefined, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: options.listen.host, port, server: "admission" }, "listening");
  return {
    server,
    port,
    install(pair, source) {
      server.setSecureContext({
        cert: pair.cert,
        key: pair.key,
        ...(options.clientCa ? { ca: options.clientCa } : {}),
      });
      expiry.set(pair.notAfter.getTime() / 1000);
      reloads.inc({ result: "loaded" });
      logger.info({ notAfter: pair.notAfter.toISOString(), source }, "serving certificate loaded");
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** Counts a pair that could not be installed (a half-written rotation, a malformed Secret). */
export function refusedPair(registry: Registry): void {
  const counter = registry.getSingleMetric("tekton_lineage_tls_reloads_total") as
    | Counter<"result">
    | undefined;
  counter?.inc({ result: "refused" });
}
