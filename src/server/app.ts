import express, { type Express, type RequestHandler } from "express";
import type { Registry } from "prom-client";
import type { Readiness } from "./readiness.ts";

export interface AppOptions {
  /** POST handlers by path (the admission reviews). */
  posts: Record<string, RequestHandler>;
  readiness: Readiness;
  registry: Registry;
  /** Read-only JSON views (such as the queue view), mounted with GET. */
  views?: Record<string, RequestHandler>;
}

/** The HTTP surface: admission paths (handlers given), health, readiness, metrics and read-only views. */
export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  for (const [path, handler] of Object.entries(options.posts)) app.post(path, handler);
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
  for (const [path, handler] of Object.entries(options.views ?? {})) app.get(path, handler);
  app.use((req, res) => {
    res.status(404).json({ message: `no route for ${req.method} ${req.path}` });
  });
  return app;
}
