import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../observability/logger.ts";
import { send, serve, type TestServer } from "../testing/http.ts";
import { createAdmissionApp, createOpsApp, startOpsServer } from "./app.ts";
import { Readiness } from "./readiness.ts";

let admission: TestServer;
let ops: Awaited<ReturnType<typeof startOpsServer>>;
const readiness = new Readiness();
let tlsLoaded = false;

beforeAll(async () => {
  admission = await serve(
    createAdmissionApp({
      "/mutate": (_req, res) => {
        res.json({ ok: true });
      },
    }),
  );
  readiness.add("tls", () => tlsLoaded);
  ops = await startOpsServer(
    createOpsApp({ readiness, registry: new Registry() }),
    { host: "127.0.0.1", port: 0 },
    silentLogger(),
  );
});

afterAll(async () => {
  await admission.close();
  await ops.close();
});

const opsUrl = () => `http://127.0.0.1:${ops.port}`;

describe("the two ports", () => {
  it.each([
    ["the admission port", "POST", "/mutate", 200],
    ["the admission port", "GET", "/metrics", 404],
    ["the admission port", "GET", "/readyz", 404],
    ["the admission port", "GET", "/queues", 404],
    ["the metrics port", "GET", "/healthz", 200],
    ["the metrics port", "GET", "/metrics", 200],
    ["the metrics port", "POST", "/mutate", 404],
    ["the metrics port", "GET", "/queues", 404],
  ])("%s answers %s %s with %i", async (port, method, path, status) => {
    const base = port === "the admission port" ? admission.url : opsUrl();
    const answer = await send(`${base}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: method === "POST" ? "{}" : undefined,
    });
    expect(answer.status).toBe(status);
  });

  it("says on /readyz what it waits for, then that it is ready", async () => {
    const waiting = await send(`${opsUrl()}/readyz`, { method: "GET" });
    expect([waiting.status, waiting.body]).toEqual([503, "not ready: tls"]);
    tlsLoaded = true;
    const ready = await send(`${opsUrl()}/readyz`, { method: "GET" });
    expect([ready.status, ready.body]).toEqual([200, "ok"]);
  });
});
