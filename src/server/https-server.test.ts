import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { fileURLToPath } from "node:url";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../observability/logger.ts";
import { startHttpsServer } from "./https-server.ts";
import { fileTlsSource } from "./tls-source.ts";

const makeCerts = fileURLToPath(new URL("../../certs/make-certs.sh", import.meta.url));
let dir: string;

function certs(out: string, caDir?: string) {
  execFileSync("bash", [makeCerts, out], {
    env: { ...process.env, ...(caDir ? { CA_DIR: caDir } : {}) },
    stdio: "ignore",
  });
}

/** The serial number of the certificate the server presents. */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/", ca, agent: false }, (res) => {
      const serial = (res.socket as import("node:tls").TLSSocket).getPeerCertificate().serialNumber;
      res.resume();
      res.on("end", () => resolve(serial.toLowerCase()));
    });
    req.on("error", reject);
    req.end();
  });
}

const fileSerial = (file: string) =>
  execFileSync("openssl", ["x509", "-in", file, "-noout", "-serial"], { encoding: "utf8" })
    .trim()
    .split("=")[1]
    ?.toLowerCase();

async function serveFrom(certDir: string, registry = new Registry()) {
  const source = await fileTlsSource({
    certFile: join(certDir, "tls.crt"),
    keyFile: join(certDir, "tls.key"),
    logger: silentLogger(),
    registry,
  });
  const server = await startHttpsServer((_req, res) => res.end("ok"), {
    listen: { host: "127.0.0.1", port: 0 },
    initial: source.initial,
    logger: silentLogger(),
    registry,
  });
  source.start(server.install);
  return { server, source, registry };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tl-tls-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("slow and hostile clients", () => {
  const closedWithin = (socket: import("node:net").Socket, ms: number) =>
    new Promise<number>((resolve, reject) => {
      const started = Date.now();
      const deadline = setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms);
      socket.on("close", () => {
        clearTimeout(deadline);
        resolve(Date.now() - started);
      });
      socket.on("error", () => {});
    });

  it.each([
    ["one that never starts its TLS handshake", false],
    ["one that never finishes its headers", true],
  ])("cuts off %s", async (_what, handshake) => {
    const out = join(dir, `slow-${handshake}`);
    certs(out);
    const source = await fileTlsSource({
      certFile: join(out, "tls.crt"),
      keyFile: join(out, "tls.key"),
      logger: silentLogger(),
      registry: new Registry(),
    });
    const running = await startHttpsServer((_req, res) => res.end("ok"), {
      listen: { host: "127.0.0.1", port: 0 },
      initial: source.initial,
      timeouts: { handshakeMs: 500, headersMs: 500, requestMs: 1_000 },
      logger: silentLogger(),
      registry: new Registry(),
    });
    try {
      const socket = handshake
        ? tlsConnect({ host: "127.0.0.1", port: running.port, rejectUnauthorized: false }, () =>
            socket.write("POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: appl"),
          )
        : netConnect({ host: "127.0.0.1", port: running.port });
      socket.resume(); // read what comes (a 408), so the socket can end
      // Cut off well within the 30 s Node would otherwise wait before it even looks.
      await closedWithin(socket, 5_000);
    } finally {
      source.stop?.();
      await running.close();
    }
  });
});

describe("HTTPS with certificates from files", () => {
  it("swaps in a new certificate when the files change, without a restart", async () => {
    const live = join(dir, "live");
    certs(live);
    const ca = readFileSync(join(live, "ca.crt"), "utf8");
    const { server, source } = await serveFrom(live);
    try {
      const first = await servedSerial(server.port, ca);
      expect(first).toBe(fileSerial(join(live, "tls.crt")));
      certs(live, live); // new serving pair, same CA
      const second = fileSerial(join(live, "tls.crt"));
      expect(second).not.toBe(first);
      const deadline = Date.now() + 5000;
      let served = first;
      while (served !== second && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        served = await servedSerial(server.port, ca);
      }
      expect(served).toBe(second);
    } finally {
      source.stop();
      await server.close();
    }
  });

  it("keeps the old pair while the files do not match each other", async () => {
    const a = join(dir, "a");
    const b = join(dir, "b");
    certs(a);
    certs(b);
    const ca = readFileSync(join(a, "ca.crt"), "utf8");
    const { server, source, registry } = await serveFrom(a);
    try {
      const before = await servedSerial(server.port, ca);
      cpSync(join(b, "tls.key"), join(a, "tls.key")); // key of another pair: a half-finished rotation
      const deadline = Date.now() + 5000;
      let refused = 0;
      while (refused === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        const metric = await registry.getSingleMetric("tekton_lineage_tls_reloads_total")?.get();
        refused = metric?.values.find((v) => v.labels.result === "refused")?.value ?? 0;
      }
      expect(refused).toBeGreaterThanOrEqual(1);
      expect(await servedSerial(server.port, ca)).toBe(before);
    } finally {
      source.stop();
      await server.close();
    }
  });

  it("refuses to start without a valid pair", async () => {
    await expect(
      fileTlsSource({
        certFile: join(dir, "missing.crt"),
        keyFile: join(dir, "missing.key"),
        logger: silentLogger(),
        registry: new Registry(),
      }),
    ).rejects.toThrow(/ENOENT/);
  });
});
