import { readFileSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";

/**
 * An HTTPS proxy in front of the bed's API server for one client (PaC), on 127.0.0.1: every request is
 * passed on as it came (watches streamed), except that the answer to the next request matching
 * `loseAnswer` is thrown away once the API server has given it, and the client gets what a gateway gives
 * when an answer does not come back in time — 504 with no Status body, which client-go reports as "the
 * server was unable to return a response in the time allotted, but may still be processing the request".
 * The create happened; the client was told it may not have.
 */
export class ApiProxy {
  private server: Server | undefined;
  private lose: ((method: string, path: string) => boolean) | undefined;
  private readonly target: URL;
  private readonly ca: string;
  private readonly certDir: string;
  port = 0;

  constructor(options: { kubeConfig: KubeConfig; certDir: string }) {
    const cluster = options.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("the kubeconfig names no cluster");
    this.target = new URL(cluster.server);
    this.ca = cluster.caData
      ? Buffer.from(cluster.caData, "base64").toString("utf8")
      : readFileSync(cluster.caFile ?? "", "utf8");
    this.certDir = options.certDir;
  }

  async start(): Promise<this> {
    const server = createServer(
      {
        cert: readFileSync(join(this.certDir, "tls.crt")),
        key: readFileSync(join(this.certDir, "tls.key")),
      },
      (req, res) => {
        const lost = this.lose?.(req.method ?? "GET", req.url ?? "/") === true;
        if (lost) this.lose = undefined;
        const upstream = request(
          {
            host: this.target.hostname,
            port: this.target.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: this.target.host },
            ca: this.ca,
          },
          (answer) => {
            if (lost) {
              answer.resume();
              answer.on("end", () => {
                res.writeHead(504, { "content-type": "text/plain" });
                res.end("upstream request timeout");
              });
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.on("error", () => res.destroy());
        req.pipe(upstream);
        res.on("close", () => upstream.destroy());
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** The answer to the next request this matches is lost (once). */
  loseNextAnswer(matches: (method: string, path: string) => boolean): void {
    this.lose = matches;
  }

  /** A kubeconfig for the proxy, with the user of `kubeConfig`. */
  writeKubeconfig(kubeConfig: KubeConfig, file: string): string {
    const user = kubeConfig.getCurrentUser();
    const ca = readFileSync(join(this.certDir, "ca.crt")).toString("base64");
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "proxy",
            cluster: { server: `https://127.0.0.1:${this.port}`, "certificate-authority-data": ca },
          },
        ],
        users: [{ name: "proxy", user: { token: user?.token } }],
        contexts: [{ name: "proxy", context: { cluster: "proxy", user: "proxy" } }],
        "current-context": "proxy",
      }),
      { mode: 0o600 },
    );
    return file;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
