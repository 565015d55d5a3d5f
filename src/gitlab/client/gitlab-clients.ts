import type { SecretRef } from "../../config/parsers.ts";
import { GitLabApi, type StatusApi } from "./api.ts";
import { HostGate } from "./host-gate.ts";
import type { TokenSource } from "./token-source.ts";

/** Where the reporter gets a client for a host and token Secret (GitLabClients; a fake in unit tests). */
export interface ClientSource {
  readonly gate: HostGate;
  get(host: string, secret: SecretRef): Promise<StatusApi>;
  /** A token GitLab refused: read its Secret again next time (it may have been rotated). */
  forget(secret: SecretRef): void;
}

/** Clients kept at once; the oldest is dropped beyond this (hosts come from tenants' Repositories). */
const maxClients = 500;

export interface GitLabClientsOptions {
  tokens: TokenSource;
  timeoutMs: number;
  /** Told of every request sent: method and HTTP status (0: no answer). */
  observe: (method: string, status: number) => void;
  gate?: HostGate;
}

/**
 * One GitLab client per host and token Secret, made again when the token in the Secret changes, and one
 * HostGate for all of them (what each host said about waiting is shared by every client of it).
 */
export class GitLabClients implements ClientSource {
  readonly gate: HostGate;
  private readonly options: GitLabClientsOptions;
  private readonly clients = new Map<string, { token: string; api: StatusApi }>();

  constructor(options: GitLabClientsOptions) {
    this.options = options;
    this.gate = options.gate ?? new HostGate();
  }

  /** The client for this host with the token of this Secret (read through the TokenSource). */
  async get(host: string, secret: SecretRef): Promise<StatusApi> {
    const token = await this.options.tokens.token(secret);
    const key = [host, secret.namespace, secret.name, secret.key].join("\u0000");
    const cached = this.clients.get(key);
    if (cached?.token === token) return cached.api;
    const api = new GitLabApi({
      host,
      token,
      gate: this.gate,
      timeoutMs: this.options.timeoutMs,
      observe: this.options.observe,
    });
    this.clients.delete(key);
    this.clients.set(key, { token, api });
    if (this.clients.size > maxClients) {
      const oldest = this.clients.keys().next().value;
      if (oldest !== undefined) this.clients.delete(oldest);
    }
    return api;
  }

  /** A token GitLab refused: read its Secret again next time (it may have been rotated). */
  forget(secret: SecretRef): void {
    this.options.tokens.forget(secret);
  }

  get size(): number {
    return this.clients.size;
  }
}
