import { createServer, type IncomingMessage, type Server } from "node:http";
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from "node:http2";
import { type AddressInfo, createConnection, createServer as createTcpServer, type Socket } from "node:net";
import { KubeConfig, type V1Lease } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { generateCa, issueServing } from "../server/certificates.ts";
import { kubeConfigFor } from "../testing/http.ts";
import { apiFailure, isAmbiguous } from "./api-errors.ts";
import { HttpLeaseStore } from "./lease-http.ts";

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  body: unknown;
}

/** A loopback HTTP server (as `kubectl proxy` serves) answering Lease calls from a table. */
async function apiServer(answer: (seen: Seen) => [number, unknown]) {
  const seen: Seen[] = [];
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const request = {
      method: req.method ?? "",
      url: req.url ?? "",
      authorization: req.headers.authorization,
      body: text ? JSON.parse(text) : undefined,
    };
    seen.push(request);
    const [status, body] = answer(request);
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return { seen, port: (server.address() as AddressInfo).port };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

function store(port: number, onRequest?: (method: string, url: string) => void) {
  const kc = kubeConfigFor(`http://127.0.0.1:${port}`, "secret-token");
  Object.assign(kc, { onRequest });
  return new HttpLeaseStore(kc, "tekton-lineage", { timeoutMs: 2_000 });
}

const status = (code: number, reason: string) => ({ kind: "Status", code, reason, message: `${reason}!` });
const lease: V1Lease = { metadata: { name: "a", resourceVersion: "7" }, spec: { holderIdentity: "x" } };

describe("HttpLeaseStore", () => {
  it.each([
    [
      "get",
      (s: HttpLeaseStore) => s.get("a"),
      "GET",
      "/apis/coordination.k8s.io/v1/namespaces/tekton-lineage/leases/a",
    ],
    [
      "create",
      (s: HttpLeaseStore) => s.create(lease),
      "POST",
      "/apis/coordination.k8s.io/v1/namespaces/tekton-lineage/leases",
    ],
    [
      "replace",
      (s: HttpLeaseStore) => s.replace(lease),
      "PUT",
      "/apis/coordination.k8s.io/v1/namespaces/tekton-lineage/leases/a",
    ],
    [
      "list",
      (s: HttpLeaseStore) => s.list("k=v"),
      "GET",
      "/apis/coordination.k8s.io/v1/namespaces/tekton-lineage/leases?labelSelector=k%3Dv",
    ],
  ])("%s: sends %s to the Lease path with the kubeconfig's token, counted", async (_, call, method, path) => {
    const { seen, port } = await apiServer(() => [200, { ...lease, items: [lease] }]);
    const counted: string[] = [];
    await call(store(port, (m, url) => counted.push(`${m} ${new URL(url).pathname}`)));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method, url: path, authorization: "Bearer secret-token" });
    expect(counted).toEqual([`${method} ${path.split("?")[0]}`]);
  });

  it("writes a Lease whole, with its kind and resourceVersion, so a stale write is refused", async () => {
    const { seen, port } = await apiServer(() => [200, lease]);
    await store(port).replace(lease);
    expect(seen[0]?.body).toEqual({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", ...lease });
  });

  it("reads a missing Lease as undefined and a refused write as the API server's Status", async () => {
    const { port } = await apiServer(({ method }) =>
      method === "GET" ? [404, status(404, "NotFound")] : [409, status(409, "Conflict")],
    );
    const s = store(port);
    expect(await s.get("a")).toBeUndefined();
    const error = await s.replace(lease).catch((e: unknown) => e);
    expect(apiFailure(error).code).toBe(409);
    expect(apiFailure(error)).toMatchObject({ code: 409, reason: "Conflict", message: "Conflict!" });
  });

  it("deletes only the version it read: a changed or missing Lease is not deleted", async () => {
    const answers: [number, unknown][] = [
      [200, status(200, "Success")],
      [409, status(409, "Conflict")],
      [404, status(404, "NotFound")],
    ];
    const { seen, port } = await apiServer(() => answers.shift() ?? [500, {}]);
    const s = store(port);
    expect(await s.deleteIfUnchanged("a", "7")).toBe(true);
    expect(await s.deleteIfUnchanged("a", "7")).toBe(false);
    expect(await s.deleteIfUnchanged("a", "7")).toBe(false);
    expect(seen[0]?.body).toEqual({ preconditions: { resourceVersion: "7" } });
  });

  it("reports a server error and no answer at all as ambiguous, so the caller reads back", async () => {
    const { port } = await apiServer(() => [503, status(503, "ServiceUnavailable")]);
    const error = await store(port)
      .replace(lease)
      .catch((e: unknown) => e);
    expect(apiFailure(error).code).toBe(503);
    expect(isAmbiguous(error)).toBe(true);

    const closed = await apiServer(() => [200, {}]);
    const unreachable = store(closed.port);
    await new Promise((resolve) => servers.pop()?.close(resolve));
    const refused = await unreachable.get("a").catch((e: unknown) => e);
    expect(apiFailure(refused).code).toBe(0);
    expect(isAmbiguous(refused)).toBe(true);
  });
});

/** A loopback HTTPS server speaking HTTP/2 only, as kube-apiserver offers it, with a certificate for 127.0.0.1. */
async function http2ApiServer(
  answer: (headers: Record<string, unknown>, body: string) => [number, unknown] | "stall",
  options: { through?: (port: number) => Promise<number>; pingAfterMs?: number } = {},
) {
  const now = new Date();
  const ca = await generateCa("test-ca", now, 3_600_000);
  const serving = await issueServing(ca, { dnsNames: [], ips: ["127.0.0.1"] }, now, 3_600_000);
  const sessions: ServerHttp2Session[] = [];
  const bodies: unknown[] = [];
  const server: Http2SecureServer = createSecureServer({ cert: serving.certPem, key: serving.keyPem });
  server.on("session", (session) => sessions.push(session));
  server.on("stream", (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      if (body) bodies.push(JSON.parse(body));
      const result = answer(headers as Record<string, unknown>, body);
      if (result === "stall") return;
      stream.respond({ ":status": result[0], "content-type": "application/json" });
      stream.end(JSON.stringify(result[1]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = await (options.through ?? (async (p: number) => p))((server.address() as AddressInfo).port);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name: "c", server: `https://127.0.0.1:${port}`, caData: Buffer.from(ca.certPem).toString("base64") },
    ],
    users: [{ name: "u", token: "secret-token" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  const store = new HttpLeaseStore(kc, "tekton-lineage", {
    timeoutMs: options.pingAfterMs ? 10_000 : 500,
    pingAfterMs: options.pingAfterMs,
    pingTimeoutMs: options.pingAfterMs,
  });
  return {
    store,
    sessions,
    bodies,
    async close() {
      store.close();
      for (const session of sessions) session.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("HttpLeaseStore over HTTP/2", () => {
  it("sends concurrent calls as streams of one connection, authenticated, and writes without managedFields", async () => {
    const api = await http2ApiServer((headers) => {
      expect(headers.authorization).toBe("Bearer secret-token");
      return [200, lease];
    });
    try {
      const withFields = { ...lease, metadata: { ...lease.metadata, managedFields: [{ manager: "x" }] } };
      await Promise.all([api.store.get("a"), api.store.replace(withFields), api.store.get("b")]);
      await api.store.get("c");
      expect(api.sessions).toHaveLength(1);
      expect(api.bodies).toEqual([{ apiVersion: "coordination.k8s.io/v1", kind: "Lease", ...lease }]);
    } finally {
      await api.close();
    }
  });

  it("opens a new connection when the server closed the last one", async () => {
    const api = await http2ApiServer(() => [200, lease]);
    try {
      await api.store.get("a");
      await new Promise<void>((resolve) => api.sessions[0]?.close(resolve));
      await expect(api.store.get("a")).resolves.toEqual(lease);
      expect(api.sessions).toHaveLength(2);
    } finally {
      await api.close();
    }
  });

  it("gives up on a call with no answer in time, as an ambiguous failure, and reconnects for the next", async () => {
    let stall = true;
    const api = await http2ApiServer(() => (stall ? "stall" : [200, lease]));
    try {
      const error = await api.store.replace(lease).catch((e: unknown) => e);
      expect(String(error)).toContain("no answer from the API server within 500 ms");
      expect(isAmbiguous(error)).toBe(true);
      stall = false;
      await expect(api.store.get("a")).resolves.toEqual(lease);
      expect(api.sessions).toHaveLength(2);
    } finally {
      await api.close();
    }
  });
});

/** A TCP proxy whose connections so far can be frozen (a half-open connection); new ones pass. */
async function freezableProxy(target: number) {
  const all: Socket[] = [];
  let live: Socket[] = [];
  const server = createTcpServer((client) => {
    const upstream = createConnection(target, "127.0.0.1");
    client.pipe(upstream).pipe(client);
    client.on("error", () => undefined);
    upstream.on("error", () => undefined);
    all.push(client, upstream);
    live.push(client, upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    freeze() {
      for (const socket of live) {
        socket.unpipe();
        socket.pause();
      }
      live = [];
    },
    close() {
      for (const socket of all) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("HttpLeaseStore on a connection that died silently", () => {
  it("finds out by an unanswered ping, not the call's timeout, and the next call uses a new connection", async () => {
    let proxy: Awaited<ReturnType<typeof freezableProxy>> | undefined;
    const api = await http2ApiServer(() => [200, lease], {
      pingAfterMs: 200,
      through: async (port) => {
        proxy = await freezableProxy(port);
        return proxy.port;
      },
    });
    try {
      await api.store.get("a");
      proxy?.freeze();
      // The call's own timeout is 10 s, past this test's: only the unanswered ping can end it.
      const error = await api.store.get("a").catch((e: unknown) => e);
      expect(isAmbiguous(error)).toBe(true);
      expect(String(error)).toContain("did not answer a ping within 200 ms");

      await expect(api.store.get("a")).resolves.toEqual(lease);
      expect(api.sessions).toHaveLength(2);
    } finally {
      await proxy?.close();
      await api.close();
    }
  });
});
