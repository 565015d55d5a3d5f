import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy on 127.0.0.1 that stands in for a Service (round-robin over backends, skipping ones that
 * refuse connections) or for a slow network (stall: hold every byte until resume). TLS passes through.
 */
export class TcpProxy {
  private server: Server | undefined;
  private backends: number[];
  private next = 0;
  private stalled = false;
  private readonly sockets = new Set<Socket>();
  private readonly held: (() => void)[] = [];
  port = 0;
  connections = 0;

  private readonly host: string;

  /** `host` is where the proxy listens: loopback, or 0.0.0.0 when a remote API server must reach it. */
  constructor(backends: number[], host = "127.0.0.1") {
    this.backends = [...backends];
    this.host = host;
  }

  async start(): Promise<this> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server?.listen(0, this.host, resolve));
    const address = this.server.address();
    this.port = typeof address === "object" && address ? address.port : 0;
    return this;
  }

  setBackends(ports: number[]): void {
    this.backends = [...ports];
  }

  /** From now on nothing passes, in either direction, on old or new connections. */
  stall(): void {
    this.stalled = true;
    for (const socket of this.sockets) socket.pause();
  }

  resume(): void {
    this.stalled = false;
    for (const socket of this.sockets) socket.resume();
    for (const release of this.held.splice(0)) release();
  }

  /** Ends every open connection (as a restarted Service endpoint would). */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    this.connections += 1;
    this.track(client);
    if (this.stalled) {
      client.pause();
      this.held.push(() => this.connect(client, 0));
    } else this.connect(client, 0);
  }

  private connect(client: Socket, tried: number): void {
    if (client.destroyed) return;
    if (tried >= this.backends.length) {
      client.destroy();
      return;
    }
    const port = this.backends[this.next++ % this.backends.length] ?? 0;
    const upstream = createConnection({ host: "127.0.0.1", port });
    let connected = false;
    upstream.once("error", () => {
      if (!connected) this.connect(client, tried + 1);
      else client.destroy();
    });
    upstream.once("connect", () => {
      connected = true;
      this.track(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      if (this.stalled) {
        client.pause();
        upstream.pause();
      }
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => {});
  }
}
