import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { SecretRef } from "../../config/parsers.ts";
import { apiFailure } from "../../kube/api-errors.ts";

/** A configuration problem with the token (missing Secret or key); not worth retrying soon. */
export class TokenError extends Error {
  override readonly name = "TokenError";
}

const secretId = (ref: SecretRef) => `${ref.namespace}/${ref.name}:${ref.key}`;

/** Tokens kept at once; Repositories (anyone's) name the Secrets, so the cache must not grow with them. */
const maxCached = 1000;
/** GitLab tokens are a few dozen characters; a Secret holding more is not a token to send anywhere. */
const maxTokenLength = 1024;

/**
 * GitLab tokens read from Secrets, kept for a minute so a rotated token is picked up without restart; at
 * most maxCached of them, the oldest read going first.
 */
export class TokenSource {
  private readonly api: CoreV1Api;
  private readonly cache = new Map<string, { token: string; at: number }>();
  private readonly ttlMs: number;

  constructor(kubeConfig: KubeConfig, ttlMs = 60_000) {
    this.api = kubeConfig.makeApiClient(CoreV1Api);
    this.ttlMs = ttlMs;
  }

  async token(ref: SecretRef): Promise<string> {
    const id = secretId(ref);
    const cached = this.cache.get(id);
    if (cached && Date.now() - cached.at < this.ttlMs) return cached.token;
    let data: Record<string, string> | undefined;
    try {
      data = (await this.api.readNamespacedSecret({ name: ref.name, namespace: ref.namespace })).data;
    } catch (error) {
      const failure = apiFailure(error);
      if (failure.code === 404 || failure.code === 403) {
        throw new TokenError(
          `cannot read Secret ${ref.namespace}/${ref.name} (${failure.code} ${failure.reason})`,
        );
      }
      throw error;
    }
    const encoded = data?.[ref.key];
    if (!encoded) throw new TokenError(`Secret ${ref.namespace}/${ref.name} has no key ${ref.key}`);
    const token = Buffer.from(encoded, "base64").toString("utf8").trim();
    if (token.length > maxTokenLength)
      throw new TokenError(
        `Secret ${ref.namespace}/${ref.name} key ${ref.key} holds ${token.length} characters, not a GitLab token`,
      );
    this.cache.delete(id);
    this.cache.set(id, { token, at: Date.now() });
    for (const oldest of this.cache.keys()) {
      if (this.cache.size <= maxCached) break;
      this.cache.delete(oldest);
    }
    return token;
  }

  /** Drops a token GitLab refused, so the next use reads the Secret again (it may have been rotated). */
  forget(ref: SecretRef): void {
    this.cache.delete(secretId(ref));
  }

  /** Tokens held now. */
  get size(): number {
    return this.cache.size;
  }
}
