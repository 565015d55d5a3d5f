import { Registry } from "prom-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../observability/logger.ts";
import { kubeConfigFor, serve, type TestServer } from "../testing/http.ts";
import { type AuditEvent, EventRecorder } from "./event-recorder.ts";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
});

/** A stand-in API server that stores posted Events; `failFirst` answers 503 that many times first. */
async function apiServer(failFirst = 0) {
  const posted: { path: string; body: Record<string, unknown>; at: number }[] = [];
  const patched: { name: string; body: Record<string, unknown> }[] = [];
  /** Events the API server has deleted (a PATCH of them answers 404). */
  const gone = new Set<string>();
  let failures = failFirst;
  server = await serve((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (failures > 0) {
        failures -= 1;
        res
          .writeHead(503, { "content-type": "application/json" })
          .end('{"kind":"Status","message":"etcd down"}');
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      if (req.method === "PATCH") {
        const name = decodeURIComponent((req.url ?? "").split("/").pop() ?? "");
        const stored = posted.find((p) => (p.body.metadata as { name?: string }).name === name);
        if (!stored || gone.has(name)) {
          res.writeHead(404, { "content-type": "application/json" }).end('{"kind":"Status","code":404}');
          return;
        }
        patched.push({ name, body });
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ ...stored.body, ...body }));
        return;
      }
      posted.push({ path: req.url ?? "", body, at: Date.now() });
      res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
  });
  const kubeConfig = kubeConfigFor(server.url);
  return { posted, patched, gone, kubeConfig };
}

const event = (i: number): AuditEvent => ({
  namespace: "team-a",
  objectName: "build-",
  reason: "CreationRejected",
  message: `denied ${i}`,
  type: "Warning",
});

describe("EventRecorder", () => {
  it("writes a core v1 Event naming the PipelineRun, the reason and the reporter", async () => {
    const { posted, kubeConfig } = await apiServer();
    const recorder = new EventRecorder({
      kubeConfig,
      instance: "pod-a",
      logger: silentLogger(),
      registry: new Registry(),
    });
    recorder.start();
    recorder.record(event(1));
    await recorder.stop();
    expect(posted).toHaveLength(1);
    expect(posted[0]?.path).toBe("/api/v1/namespaces/team-a/events");
    expect(posted[0]?.body).toMatchObject({
      involvedObject: {
        apiVersion: "tekton.dev/v1",
        kind: "PipelineRun",
        namespace: "team-a",
        name: "build-",
      },
      reason: "CreationRejected",
      message: "denied 1",
      type: "Warning",
      reportingComponent: "tekton-lineage",
      reportingInstance: "pod-a",
      source: { component: "tekton-lineage", host: "pod-a" },
    });
    expect((posted[0]?.body.metadata as { name?: string } | undefined)?.name).toMatch(/^build\.[0-9a-f]+$/);
  });

  it("never makes record() wait, and keeps at most `capacity` Events, dropping the oldest", async () => {
    const { posted, kubeConfig } = await apiServer();
    const registry = new Registry();
    const recorder = new EventRecorder({
      kubeConfig,
      instance: "p",
      logger: silentLogger(),
      registry,
      capacity: 3,
    });
    const started = performance.now();
    for (let i = 1; i <= 10; i++) recorder.record(event(i));
    expect(performance.now() - started).toBeLessThan(20);
    recorder.start();
    await recorder.stop();
    expect(posted.map((p) => p.body.message)).toEqual(["denied 8", "denied 9", "denied 10"]);
    const dropped = await registry.getSingleMetric("tekton_lineage_events_dropped_total")?.get();
    expect(dropped?.values.find((v) => v.labels.cause === "overflow")?.value).toBe(7);
  });

  it("holds to its rate after the burst", async () => {
    const { posted, kubeConfig } = await apiServer();
    const recorder = new EventRecorder({
      kubeConfig,
      instance: "p",
      logger: silentLogger(),
      registry: new Registry(),
      ratePerSecond: 20,
      burst: 2,
    });
    recorder.start();
    for (let i = 1; i <= 8; i++) recorder.record(event(i));
    await recorder.stop(5000);
    expect(posted).toHaveLength(8);
    const span = (posted[7]?.at ?? 0) - (posted[0]?.at ?? 0);
    // 2 at once, then 6 more at 20/s: about 300 ms.
    expect(span).toBeGreaterThanOrEqual(250);
  });

  it("retries while the API server is unavailable, and loses nothing", async () => {
    const { posted, kubeConfig } = await apiServer(3);
    const recorder = new EventRecorder({
      kubeConfig,
      instance: "p",
      logger: silentLogger(),
      registry: new Registry(),
    });
    recorder.start();
    recorder.record(event(1));
    recorder.record(event(2));
    await recorder.stop(10_000);
    expect(posted.map((p) => p.body.message)).toEqual(["denied 1", "denied 2"]);
  });

  it("aggregates repeats as client-go does: one object, its count and lastTimestamp raised", async () => {
    const { posted, patched, gone, kubeConfig } = await apiServer();
    const recorder = new EventRecorder({
      kubeConfig,
      instance: "p",
      logger: silentLogger(),
      registry: new Registry(),
    });
    // Three repeats before the first write: one Event, count 3.
    for (let i = 0; i < 3; i++) recorder.record(event(1));
    recorder.record(event(2));
    recorder.start();
    await vi.waitFor(() => expect(posted).toHaveLength(2));
    expect(posted.map((p) => [p.body.message, p.body.count])).toEqual([
      ["denied 1", 3],
      ["denied 2", 1],
    ]);
    // Two more after it was written: the same object, patched to count 5, lastTimestamp moved on.
    recorder.record(event(1));
    recorder.record(event(1));
    await vi.waitFor(() => expect(patched.length).toBeGreaterThanOrEqual(1));
    await vi.waitFor(() => expect(patched.at(-1)?.body.count).toBe(5));
    const name = (posted[0]?.body.metadata as { name?: string } | undefined)?.name;
    expect(new Set(patched.map((p) => p.name))).toEqual(new Set([name]));
    expect(Date.parse(String(patched.at(-1)?.body.lastTimestamp))).toBeGreaterThanOrEqual(
      Date.parse(String(posted[0]?.body.lastTimestamp)),
    );
    // Deleted meanwhile (the API server's Event TTL): written anew, count starting again.
    gone.add(name ?? "");
    recorder.record(event(1));
    await recorder.stop();
    expect(posted.map((p) => [p.body.message, p.body.count])).toEqual([
      ["denied 1", 3],
      ["denied 2", 1],
      ["denied 1", 1],
    ]);
  });
});
