import { request as plainRequest } from "node:http";
import { request } from "node:https";

export interface HttpsAnswer {
  status: number;
  body: string;
}

/** One request over HTTPS trusting only the given CA (no client certificate); the whole body read. */
export function httpsRequest(
  method: string,
  url: string,
  options: { ca: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs: number },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, ca: options.ca, headers: options.headers ?? {}, timeout: options.timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A GET over HTTPS that trusts only the given CA; for probing servers before a kubeconfig exists. */
export function httpsGet(
  url: string,
  options: { ca: string; token?: string; timeoutMs?: number },
): Promise<HttpsAnswer> {
  return httpsRequest("GET", url, {
    ca: options.ca,
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
    timeoutMs: options.timeoutMs ?? 5000,
  });
}

/** A GET over plain HTTP (tekton-lineage's operations port: probes and metrics). */
export function httpGet(url: string, timeoutMs = 5000): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = plainRequest(url, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}
