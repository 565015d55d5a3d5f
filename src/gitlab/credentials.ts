import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { SecretRef } from "../config/parsers.ts";
import { apiFailure } from "../kube/api-errors.ts";

/** A configuration problem with the token (missing Secret or key); not worth retrying soon. */
export class TokenError extends Error {
  override readonly name = "TokenError";
}

const secretId = (ref: SecretRef) => `${ref.namespace}/${ref.name}:${ref.key}`;

/** GitLab tokens read from Secrets, kept for a minute so a rotated token is picked up without restart. */
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
    this.cache.set(id, { token, at: Date.now() });
    return token;
  }

  /** Drops a token GitLab refused, so the next use reads the Secret again (it may have been rotated). */
  forget(ref: SecretRef): void {
    this.cache.delete(secretId(ref));
  }
}
