import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type Express, type RequestHandler } from "express";
import type { Registry } from "prom-client";
import type { HostPort } from "../config/parsers.ts";
import type { Logger } from "../observability/logger.ts";
import type { Readiness } from "./readiness.ts";

/**
 * The admission port: only the POST handlers given (the reviews). Nothing else is served there, so a
 * client allowed to reach health and metrics never reaches an admission path, and the other way round.
 */
export function createAdmissionApp(posts: Record<string, RequestHandler>): Express {
  const app = bareApp();
  for (const [path, handler] of Object.entries(posts)) app.post(path, handler);
  return withNotFound(app);
}

/** The operations port: liveness, readiness (with what it waits for) and Prometheus metrics. */
export function createOpsApp(options: { readiness: Readiness; registry: Registry }): Express {
  const app = bareApp();
  app.get("/healthz", (_req, res) => {
    res.type("text/plain").send("ok");
  });
  app.get("/readyz", (_req, res) => {
    const failing = options.readiness.failing();
    const waiting = options.readiness.waiting();
    const note = waiting.length > 0 ? ` (not gating, still waiting: ${waiting.join(", ")})` : "";
    if (failing.length === 0) res.type("text/plain").send(`ok${note}`);
    else
      res
        .status(503)
        .type("text/plain")
        .send(`not ready: ${failing.join(", ")}`);
  });
  app.get("/metrics", async (_req, res) => {
    res.type(options.registry.contentType).send(await options.registry.metrics());
  });
  return withNotFound(app);
}

/**
 * Serves the operations app over plain HTTP (kubelet probes and Prometheus scrapes; nothing on it is
 * secret or changes anything), with the same limits on slow clients as the admission port.
 */
export async function startOpsServer(
  app: Express,
  listen: HostPort,
  logger: Logger,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer({ connectionsCheckingInterval: 1_000 }, app);
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.maxConnections = 64;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host || undefined, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: listen.host, port, server: "metrics" }, "listening");
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function bareApp(): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  return app;
}

function withNotFound(app: Express): Express {
  app.use((req, res) => {
    res.status(404).json({ message: `no route for ${req.method} ${req.path}` });
  });
  return app;
}
