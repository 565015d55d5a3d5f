import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { type ClientHttp2Session, connect, constants } from "node:http2";
import { request as httpsRequest, type RequestOptions } from "node:https";

import type { KubeConfig } from "@kubernetes/client-node";

/** An API server's answer that was not a success, shaped as apiFailure() reads client-node's errors. */
export class KubeApiError extends Error {
  readonly code: number;
  readonly body: string;

  constructor(code: number, body: string, message: string) {
    super(message);
    this.code = code;
    this.body = body;
  }
}

/** What one call got back: HTTP status and body text. */
interface Answer {
  status: number;
  text: string;
}

export interface KubeHttpOptions {
  timeoutMs?: number;
  pingAfterMs?: number;
  pingTimeoutMs?: number;
}

/**
 * Plain-JSON calls to the API server, for the paths where client-node's generated client (its object
 * serializer, a fetch stack per call) cost more CPU than tekton-lineage itself: the admission path's
 * Lease writes above all. A direct HTTPS API server is spoken to over one HTTP/2 connection (as
 * client-go does; every kube-apiserver offers h2): concurrent calls are streams of it, with no connection
 * pool and no handshake per burst. Authentication still comes from the KubeConfig (applyToHTTPSOptions:
 * certificates, bearer tokens, exec plugins), asked on every call so a rotated token is used at once; a
 * change of TLS options (a rotated client certificate) opens a new connection. A plain-HTTP server (a
 * `kubectl proxy`) or a cluster behind a proxy-url is spoken to over HTTP/1.1 with client-node's agent.
 */
export class KubeHttp {
  private readonly kubeConfig: KubeConfig;
  private readonly server: string;
  private readonly timeoutMs: number;
  private connection: { key: string; session: ClientHttp2Session } | undefined;

  private readonly pingAfterMs: number;
  private readonly pingTimeoutMs: number;
  private readonly probing = new WeakSet<ClientHttp2Session>();
  /** Calls in flight on each connection: while there are some it keeps the process alive (ref). */
  private readonly inFlight = new WeakMap<ClientHttp2Session, number>();

  /**
   * `timeoutMs`: a call with no answer by then fails (ambiguous). `pingAfterMs`: a call still unanswered
   * by then pings its connection; a connection that does not answer the ping within `pingTimeoutMs` is
   * dead (a half-open TCP connection after a network blip): it is destroyed, its calls fail at once and
   * the next call opens a new one — as client-go's ReadIdleTimeout and PingTimeout do. A busy API server
   * still answers pings at once; the defaults find a dead connection within 6 s, before a leader's renew
   * deadline (10 s).
   */
  constructor(kubeConfig: KubeConfig, options: KubeHttpOptions = {}) {
    this.kubeConfig = kubeConfig;
    this.server = (kubeConfig.getCurrentCluster()?.server ?? "").replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.pingAfterMs = options.pingAfterMs ?? 2_000;
    this.pingTimeoutMs = options.pingTimeoutMs ?? 4_000;
  }

  /** Closes the HTTP/2 connection (tests, shutdown); a later call opens a new one. */
  close(): void {
    this.connection?.session.close();
    this.connection = undefined;
  }

  /**
   * One call: the answer's JSON on a 2xx, else a KubeApiError with the API server's code and message.
   * `accept` asks for another representation (a PartialObjectMetadataList, say).
   */
  async call(method: string, path: string, body?: unknown, accept = "application/json"): Promise<unknown> {
    const url = new URL(`${this.server}${path}`);
    const options: RequestOptions = { method, headers: { accept } };
    await this.kubeConfig.applyToHTTPSOptions(options);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    // Counted with the client-node calls of the process (countApiRequests sets it on the KubeConfig).
    (this.kubeConfig as { onRequest?: (method: string, url: string) => void }).onRequest?.(
      method,
      url.toString(),
    );
    const direct = url.protocol === "https:" && !this.kubeConfig.getCurrentCluster()?.proxyUrl;

    const { status, text } = await (direct
      ? this.overHttp2(url, options, payload)
      : this.overHttp1(url, options, payload));
    if (status >= 200 && status < 300) return text ? JSON.parse(text) : undefined;
    let message = `HTTP ${status}`;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // not a Status: keep the HTTP code
    }
    throw new KubeApiError(status, text, message);
  }

  /** No answer (reset, refused, timed out) rejects with a plain error: apiFailure reads it as code 0, ambiguous. */
  private overHttp2(url: URL, options: RequestOptions, payload: string | undefined): Promise<Answer> {
    const session = this.session(url, options);
    const headers: Record<string, string | number> = {
      ":method": options.method ?? "GET",
      ":path": `${url.pathname}${url.search}`,
      ...lowerCased(options.headers),
    };
    if (options.auth) headers.authorization = `Basic ${Buffer.from(options.auth).toString("base64")}`;
    if (payload !== undefined) headers["content-type"] = "application/json";
    this.hold(session, +1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.hold(session, -1);
    };
    return new Promise<Answer>((resolve, reject) => {
      const stream = session.request(headers, { endStream: payload === undefined });
      let status = 0;
      const chunks: Buffer[] = [];
      stream.setTimeout(this.timeoutMs, () => {
        stream.close(constants.NGHTTP2_CANCEL);
        // The connection may be dead without knowing it (a half-open TCP connection): the next call
        // opens a new one; calls still on this one finish or time out on their own.
        if (this.connection?.session === session) this.connection = undefined;
        session.close();
        reject(new Error(`no answer from the API server within ${this.timeoutMs} ms`));
      });

      const probe = setTimeout(() => this.probe(session), this.pingAfterMs);
      stream.on("response", (h) => {
        clearTimeout(probe);
        status = Number(h[":status"] ?? 0);
      });
      stream.on("close", () => clearTimeout(probe));
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => resolve({ status, text: Buffer.concat(chunks).toString("utf8") }));
      stream.on("error", reject);
      if (payload !== undefined) stream.end(payload);
    }).finally(release);
  }

  /**
   * An idle connection lets the process exit (unref: a CLI run ends when its work does), but one with a
   * call in flight keeps it alive until the answer comes: an unref'd socket alone would let Node exit
   * mid-call.
   */
  private hold(session: ClientHttp2Session, delta: 1 | -1): void {
    const count = (this.inFlight.get(session) ?? 0) + delta;
    this.inFlight.set(session, count);
    if (session.destroyed) return;
    if (delta === 1 && count === 1) session.ref();
    if (count === 0) session.unref();
  }

  private overHttp1(url: URL, options: RequestOptions, payload: string | undefined): Promise<Answer> {
    if (payload !== undefined)
      options.headers = {
        ...options.headers,
        "content-type": "application/json",
        "content-length": Buffer.byteLength(payload),
      };
    const send = url.protocol === "http:" ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { ...options, signal: AbortSignal.timeout(this.timeoutMs) }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
      });
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** Pings a connection a call has waited long on; one that does not answer in time is destroyed. */
  private probe(session: ClientHttp2Session): void {
    if (session.closed || session.destroyed || this.probing.has(session)) return;
    this.probing.add(session);
    const dead = setTimeout(() => {
      if (this.connection?.session === session) this.connection = undefined;
      session.destroy(
        new Error(`the API server's connection did not answer a ping within ${this.pingTimeoutMs} ms`),
      );
    }, this.pingTimeoutMs);
    dead.unref();
    try {
      session.ping((error) => {
        clearTimeout(dead);
        this.probing.delete(session);
        if (error && !session.destroyed) session.destroy(error);
      });
    } catch {
      // Not connected yet: a connection still not up when the deadline passes is as good as dead.
    }
  }

  /** The HTTP/2 connection for these TLS options, opened (or reopened after it closed) on demand. */
  private session(url: URL, options: RequestOptions): ClientHttp2Session {
    const key = tlsKey(options);
    const current = this.connection;
    if (current && current.key === key && !current.session.closed && !current.session.destroyed)
      return current.session;
    current?.session.close(); // in-flight streams finish; a new connection takes the next calls
    const session = connect(url.origin, {
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      pfx: options.pfx,
      passphrase: options.passphrase,
      servername: options.servername,
      rejectUnauthorized: options.rejectUnauthorized,
    });
    // A connection error fails the streams on it (each rejects its call); the next call reconnects.
    session.on("error", () => undefined);

    const forget = () => {
      if (this.connection?.session === session) this.connection = undefined;
    };
    session.on("close", forget);
    session.on("goaway", forget);
    // Pings keep an idle connection known alive; the process may exit with it open (see hold).
    session.unref();
    this.connection = { key, session };
    return session;
  }
}

function lowerCased(headers: RequestOptions["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers || Array.isArray(headers)) return out;
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined)
      out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  return out;
}

/** Identifies a set of TLS options (a rotated client certificate or CA gives another). */
function tlsKey(options: RequestOptions): string {
  const hash = createHash("sha256");
  for (const field of ["ca", "cert", "key", "pfx", "passphrase", "servername"] as const) {
    const value = (options as Record<string, unknown>)[field];
    hash.update(`|${field}:`);
    if (Buffer.isBuffer(value) || typeof value === "string") hash.update(value);
  }
  hash.update(`|${String(options.rejectUnauthorized)}`);
  return hash.digest("base64");
}
