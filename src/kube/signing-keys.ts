import { createHash, createSecretKey, type KeyObject, randomBytes } from "node:crypto";
import { CoreV1Api, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.ts";
import { apiFailure } from "./api-errors.ts";
import type { Informer } from "./informer.ts";
import { managedByLabel } from "./managed-by.ts";
import { type CachedSecret, secretInformer } from "./named-object-source.ts";
import { retryUntilDone } from "./retry-until-done.ts";

/** The Secret's keys: the key that signs now; keys retired by a rotation; the one key of older releases. */
export const signingSecretKeys = {
  current: "hmac-key",
  retiredPrefix: "retired-",
  legacyPrevious: "previous-hmac-key",
} as const;
/** On the Secret: when a retired key was retired (annotation per key id). */
const retiredAtPrefix = "tekton-lineage.io/retired-at-";

/** A key and its id (8 characters of base64url SHA-256 of its bytes), as signatures name it. */
export interface KeyEntry {
  id: string;
  key: KeyObject;
}

export function signingKeyId(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("base64url").slice(0, 8);
}

function entry(base64: string): KeyEntry | undefined {
  const bytes = Buffer.from(base64, "base64");
  return bytes.length >= 16 ? { id: signingKeyId(bytes), key: createSecretKey(bytes) } : undefined;
}

/** The keys a Secret holds: current first, then retired ones (a signature made with any of them verifies). */
export function keysOf(secret: V1Secret | undefined): KeyEntry[] {
  const data = secret?.data ?? {};
  const current = entry(data[signingSecretKeys.current] ?? "");
  if (!current) return [];
  const others = Object.entries(data)
    .filter(([k]) => k.startsWith(signingSecretKeys.retiredPrefix) || k === signingSecretKeys.legacyPrevious)
    .flatMap(([, value]) => entry(value) ?? []);
  return [current, ...others.filter((k) => k.id !== current.id)];
}

/**
 * The HMAC keys that sign admission claims, shared by every replica through one Secret in tekton-lineage's
 * namespace. The first replica to start creates it (a conditional create: the loser of a race reads the
 * winner's key). The Secret is watched, so a rotation reaches every replica within moments; a signature
 * naming a key a replica does not know yet makes it read the Secret before deciding (ensure), so a
 * rotation never makes one replica refuse another's signature. If the Secret is deleted, the keys in
 * memory are written back: runs signed with them stay verifiable.
 */
export class SigningKeys {
  private keys: KeyEntry[] = [];
  private readonly loadWaiters: (() => void)[] = [];
  private lastRead = 0;
  private readonly stopped = new AbortController();
  private readonly api: CoreV1Api;
  private readonly informer: Informer<CachedSecret>;
  private readonly namespace: string;
  private readonly secretName: string;
  private readonly logger: Logger;

  constructor(options: { kubeConfig: KubeConfig; namespace: string; secretName: string; logger: Logger }) {
    this.api = options.kubeConfig.makeApiClient(CoreV1Api);
    this.namespace = options.namespace;
    this.secretName = options.secretName;
    this.logger = options.logger;
    this.informer = secretInformer({
      name: "signing-key",
      kubeConfig: options.kubeConfig,
      namespace: options.namespace,
      secretName: options.secretName,
      resyncMs: 300_000,
      logger: options.logger,
    });
    this.informer.onChange((secret, event) => {
      if (event === "deleted") void this.restore();
      else this.install(secret);
    });
  }

  get loaded(): boolean {
    return this.keys.length > 0;
  }

  /** As a cache the controller shell waits for: synced once the keys are loaded. */
  get synced(): boolean {
    return this.loaded;
  }

  whenSynced(): Promise<void> {
    if (this.loaded) return Promise.resolve();
    return new Promise((resolve) => this.loadWaiters.push(resolve));
  }

  /** The key new signatures use. */
  current(): KeyEntry {
    const key = this.keys[0];
    if (!key) throw new Error("signing key not loaded yet");
    return key;
  }

  /** Every key a signature may have been made with. */
  all(): KeyEntry[] {
    return this.keys;
  }

  /** True when the key is known, reading the Secret again first (at most once a second) when it is not. */
  async ensure(id: string): Promise<boolean> {
    if (this.keys.some((k) => k.id === id)) return true;
    if (Date.now() - this.lastRead < 1000) return false;
    try {
      this.install(await this.read());
    } catch (error) {
      this.logger.warn({ err: error }, "could not read the signing key Secret");
    }
    return this.keys.some((k) => k.id === id);
  }

  async start(): Promise<void> {
    const loaded = await retryUntilDone(() => this.load(), {
      what: `load signing key Secret ${this.secretName}`,
      logger: this.logger,
      signal: this.stopped.signal,
    });
    if (loaded) this.informer.start();
  }

  stop(): void {
    this.stopped.abort();
    this.informer.stop();
  }

  private install(secret: V1Secret | undefined): void {
    this.lastRead = Date.now();
    const keys = keysOf(secret);
    if (keys.length === 0) return;
    this.keys = keys;
    for (const wake of this.loadWaiters.splice(0)) wake();
  }

  private async load(): Promise<void> {
    let secret = await this.read();
    if (!secret)
      secret = await this.create({ [signingSecretKeys.current]: randomBytes(32).toString("base64") });
    const keys = keysOf(secret);
    if (keys.length === 0) {
      throw new Error(
        `Secret ${this.namespace}/${this.secretName} has no usable ${signingSecretKeys.current} (16+ bytes)`,
      );
    }
    this.install(secret);
  }

  /** The Secret was deleted: write back the keys this replica holds, so no live run loses its key. */
  private async restore(): Promise<void> {
    const [current, ...older] = this.keys;
    if (!current || this.stopped.signal.aborted) return;
    const data: Record<string, string> = { [signingSecretKeys.current]: exportKey(current) };
    for (const key of older) data[`${signingSecretKeys.retiredPrefix}${key.id}`] = exportKey(key);
    try {
      await this.create(data);
      this.logger.warn(
        { secret: this.secretName },
        "signing key Secret was deleted; wrote back the keys in use",
      );
    } catch (error) {
      this.logger.warn({ err: error }, "could not write back the deleted signing key Secret");
    }
  }

  private async create(data: Record<string, string>): Promise<V1Secret | undefined> {
    try {
      const created = await this.api.createNamespacedSecret({
        namespace: this.namespace,
        body: { metadata: { name: this.secretName, labels: { ...managedByLabel } }, type: "Opaque", data },
      });
      this.logger.info({ secret: this.secretName }, "created the admission signing key Secret");
      return created;
    } catch (error) {
      if (apiFailure(error).code !== 409) throw error;
      return this.read();
    }
  }

  private async read(): Promise<V1Secret | undefined> {
    try {
      return await this.api.readNamespacedSecret({ name: this.secretName, namespace: this.namespace });
    } catch (error) {
      if (apiFailure(error).code === 404) return undefined;
      throw error;
    }
  }
}

function exportKey(key: KeyEntry): string {
  return key.key.export().toString("base64");
}

/**
 * A rotation, as a compare-and-swap on the Secret: a new key signs from now on, and the old one is kept
 * as retired-<id> (with the time) for every run it signed. Returns the new key's id.
 */
export function rotated(secret: V1Secret, now: Date, fresh: Buffer = randomBytes(32)): V1Secret {
  const data = { ...(secret.data ?? {}) };
  const annotations = { ...(secret.metadata?.annotations ?? {}) };
  const old = entry(data[signingSecretKeys.current] ?? "");
  if (old) {
    data[`${signingSecretKeys.retiredPrefix}${old.id}`] = data[signingSecretKeys.current] ?? "";
    annotations[`${retiredAtPrefix}${old.id}`] = now.toISOString();
  }
  data[signingSecretKeys.current] = fresh.toString("base64");
  return { ...secret, metadata: { ...secret.metadata, annotations }, data };
}

/**
 * The retired keys (ids) retired longer ago than `minAgeMs` (a create signed with a newer one may still be
 * on its way): the only keys a drop may take. The key of older releases (previous-hmac-key) is never
 * among them: its signatures do not name it.
 */
export function retiredLongAgo(secret: V1Secret, now: Date, minAgeMs: number): string[] {
  const annotations = secret.metadata?.annotations ?? {};
  return Object.keys(secret.data ?? {}).flatMap((key) => {
    if (!key.startsWith(signingSecretKeys.retiredPrefix)) return [];
    const id = key.slice(signingSecretKeys.retiredPrefix.length);
    const retiredAt = Date.parse(annotations[`${retiredAtPrefix}${id}`] ?? "");
    return Number.isFinite(retiredAt) && now.getTime() - retiredAt >= minAgeMs ? [id] : [];
  });
}

/**
 * The Secret without the keys retired long ago (retiredLongAgo) that no live run was signed with;
 * undefined when nothing is to drop.
 */
export function withoutUnusedKeys(
  secret: V1Secret,
  inUse: ReadonlySet<string>,
  now: Date,
  minAgeMs: number,
): V1Secret | undefined {
  const unused = retiredLongAgo(secret, now, minAgeMs).filter((id) => !inUse.has(id));
  if (unused.length === 0) return undefined;
  const data = { ...(secret.data ?? {}) };
  const annotations = { ...(secret.metadata?.annotations ?? {}) };
  for (const id of unused) {
    delete data[`${signingSecretKeys.retiredPrefix}${id}`];
    delete annotations[`${retiredAtPrefix}${id}`];
  }
  return { ...secret, metadata: { ...secret.metadata, annotations }, data };
}

/** Rotates the signing key (compare-and-swap on the Secret); returns the new key's id. */
export async function rotateSigningKey(
  kubeConfig: KubeConfig,
  namespace: string,
  name: string,
): Promise<string> {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  for (;;) {
    const secret = await api.readNamespacedSecret({ name, namespace });
    const next = rotated(secret, new Date());
    try {
      await api.replaceNamespacedSecret({ name, namespace, body: next });
      return keysOf(next)[0]?.id ?? "";
    } catch (error) {
      if (apiFailure(error).code !== 409) throw error;
    }
  }
}

/**
 * The ids of the keys live runs were signed with, verified with `keys` (the Secret's, as just read);
 * undefined when that cannot be said now (a cache not synced yet, a listing not due).
 */
export type KeysInUse = (keys: readonly KeyEntry[]) => Promise<ReadonlySet<string> | undefined>;

/**
 * Drops from the Secret the retired keys that no live run was signed with (compare-and-swap; a conflict
 * waits for the next round). `keysInUse` is asked only when some key was retired long enough ago to be
 * dropped: where it lists runs, a Secret with nothing to drop costs one read. Returns the ids dropped.
 */
export async function dropUnusedKeys(
  kubeConfig: KubeConfig,
  namespace: string,
  name: string,
  keysInUse: KeysInUse,
  minAgeMs: number,
): Promise<string[]> {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const secret = await api.readNamespacedSecret({ name, namespace });
  if (retiredLongAgo(secret, new Date(), minAgeMs).length === 0) return [];
  const inUse = await keysInUse(keysOf(secret));
  if (!inUse) return [];
  // The time of the decision, not of the read: a listing may take a while, and a key only grows older.
  const next = withoutUnusedKeys(secret, inUse, new Date(), minAgeMs);
  if (!next) return [];
  try {
    await api.replaceNamespacedSecret({ name, namespace, body: next });
  } catch (error) {
    if (apiFailure(error).code === 409) return [];
    throw error;
  }
  const kept = new Set(keysOf(next).map((k) => k.id));
  return keysOf(secret)
    .map((k) => k.id)
    .filter((id) => !kept.has(id));
}
