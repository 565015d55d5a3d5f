import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../observability/logger.ts";
import { startHttpsServer } from "./https-server.ts";

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
      res.on("end", () => resolve(serial));
    });
    req.on("error", reject);
    req.end();
  });
}

const fileSerial = (file: string) =>
  execFileSync("openssl", ["x509", "-in", file, "-noout", "-serial"], { encoding: "utf8" })
    .trim()
    .split("=")[1];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tl-tls-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("startHttpsServer", () => {
  it("swaps in a new certificate when the files change, without a restart", async () => {
    const live = join(dir, "live");
    certs(live);
    const ca = readFileSync(join(live, "ca.crt"), "utf8");
    const server = await startHttpsServer((_req, res) => res.end("ok"), {
      listen: { host: "127.0.0.1", port: 0 },
      certFile: join(live, "tls.crt"),
      keyFile: join(live, "tls.key"),
      logger: silentLogger(),
      registry: new Registry(),
      reloadIntervalMs: 50,
    });
    try {
      const first = await servedSerial(server.port, ca);
      expect(first.toLowerCase()).toBe(fileSerial(join(live, "tls.crt"))?.toLowerCase());
      certs(live, live); // new serving pair, same CA
      const second = fileSerial(join(live, "tls.crt"))?.toLowerCase();
      expect(second).not.toBe(first.toLowerCase());
      const deadline = Date.now() + 5000;
      let served = first.toLowerCase();
      while (served !== second && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        served = (await servedSerial(server.port, ca)).toLowerCase();
      }
      expect(served).toBe(second);
    } finally {
      await server.close();
    }
  });

  it("keeps the old pair while the files do not match each other", async () => {
    const a = join(dir, "a");
    const b = join(dir, "b");
    certs(a);
    certs(b);
    const ca = readFileSync(join(a, "ca.crt"), "utf8");
    const registry = new Registry();
    const server = await startHttpsServer((_req, res) => res.end("ok"), {
      listen: { host: "127.0.0.1", port: 0 },
      certFile: join(a, "tls.crt"),
      keyFile: join(a, "tls.key"),
      logger: silentLogger(),
      registry,
      reloadIntervalMs: 60_000,
    });
    try {
      const before = await servedSerial(server.port, ca);
      cpSync(join(b, "tls.key"), join(a, "tls.key")); // key of another pair: a half-finished rotation
      expect(await server.reloadNow()).toBe(false);
      expect(await servedSerial(server.port, ca)).toBe(before);
      const refused = (
        await registry.getSingleMetric("tekton_lineage_tls_reloads_total")?.get()
      )?.values.find((v) => v.labels.result === "refused");
      expect(refused?.value).toBe(1);
    } finally {
      await server.close();
    }
  });

  it("refuses to start without a valid pair", async () => {
    await expect(
      startHttpsServer((_req, res) => res.end(), {
        listen: { host: "127.0.0.1", port: 0 },
        certFile: join(dir, "missing.crt"),
        keyFile: join(dir, "missing.key"),
        logger: silentLogger(),
        registry: new Registry(),
      }),
    ).rejects.toThrow(/ENOENT/);
  });
});
