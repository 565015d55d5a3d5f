import { type KubeConfig, Watch } from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.ts";
import { apiFailure } from "./api-errors.ts";

/** The identity every cached object keeps, whatever else its transform trims away. */
export interface CachedObject {
  metadata: { namespace?: string; name?: string; resourceVersion?: string; uid?: string };
}

export interface ListPage {
  items: unknown[];
  resourceVersion: string;
  continueToken?: string;
}

export interface InformerSource {
  /** The watch path for one namespace, or for all namespaces when namespace is "". */
  path(namespace: string): string;
  list(
    namespace: string,
    options: { labelSelector?: string; limit: number; continueToken?: string },
  ): Promise<ListPage>;
}

export type InformerEvent = "added" | "updated" | "deleted" | "resync";

export interface InformerOptions<T extends CachedObject> {
  name: string;
  kubeConfig: KubeConfig;
  source: InformerSource;
  /** Namespaces to watch; empty means all namespaces. */
  namespaces: readonly string[];
  labelSelector?: string;
  /** Trims a raw object to what the reconcilers read, so the cache stays small. */
  transform: (raw: unknown) => T;
  /** Every resyncMs, every cached object is handed to the handlers again (level-based reconciles). */
  resyncMs: number;
  logger: Logger;
  pageSize?: number;
}

export type Handler<T> = (object: T, event: InformerEvent) => void;

/**
 * A read-only cache of objects kept current by someone else (an Informer in the process; an in-memory
 * cache in unit tests): what controllers read, and where they hear of changes.
 */
export interface ObjectCache<T extends CachedObject> {
  get(namespace: string | undefined, name: string): T | undefined;
  list(namespace?: string): T[];
  /** Keeps objects findable by a derived value (a label, say); asking twice for a name is harmless. */
  addIndex(name: string, of: (object: T) => string | undefined): void;
  byIndex(name: string, value: string): T[];
  indexValues(name: string): string[];
  onChange(handler: Handler<T>): void;
  readonly synced: boolean;
  whenSynced(): Promise<void>;
}

export const keyOf = (namespace: string | undefined, name: string | undefined) =>
  `${namespace ?? ""}/${name ?? ""}`;

/**
 * A list-watch cache that never stops on its own: it lists in pages, watches from the listed
 * resourceVersion with bookmarks, relists when the version is too old (410), restarts with backoff
 * after any error, and resyncs periodically. Objects are trimmed by `transform` before they are kept.
 */
export class Informer<T extends CachedObject> implements ObjectCache<T> {
  private readonly cache = new Map<string, T>();
  private readonly indexes = new Map<
    string,
    { of: (object: T) => string | undefined; members: Map<string, Set<string>> }
  >();
  private readonly handlers: Handler<T>[] = [];
  private readonly scopes: string[];
  private readonly syncedScopes = new Set<string>();
  private readonly syncWaiters: (() => void)[] = [];
  private readonly aborts = new Set<AbortController>();
  private resyncTimer: NodeJS.Timeout | undefined;
  private stopped = true;

  private readonly options: InformerOptions<T>;

  constructor(options: InformerOptions<T>) {
    this.options = options;
    this.scopes = options.namespaces.length === 0 ? [""] : [...options.namespaces];
  }

  onChange(handler: Handler<T>): void {
    this.handlers.push(handler);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(keyOf(namespace, name));
  }

  /** Keeps objects findable by a derived value (a label, say); add indexes before start(). */
  addIndex(name: string, of: (object: T) => string | undefined): void {
    if (this.indexes.has(name)) return; // several controllers may ask for the same index
    const index = { of, members: new Map<string, Set<string>>() };
    this.indexes.set(name, index);
    for (const [key, object] of this.cache) this.indexAdd(index, key, object);
  }

  /** The cached objects whose index value is `value`. */
  byIndex(name: string, value: string): T[] {
    const keys = this.indexes.get(name)?.members.get(value) ?? new Set<string>();
    return [...keys].flatMap((key) => {
      const object = this.cache.get(key);
      return object ? [object] : [];
    });
  }

  /** Every value an index currently holds. */
  indexValues(name: string): string[] {
    return [...(this.indexes.get(name)?.members.keys() ?? [])];
  }

  private indexAdd(
    index: { of: (object: T) => string | undefined; members: Map<string, Set<string>> },
    key: string,
    object: T,
  ) {
    const value = index.of(object);
    if (value === undefined) return;
    const members = index.members.get(value) ?? new Set<string>();
    members.add(key);
    index.members.set(value, members);
  }

  private indexRemove(key: string, object: T): void {
    for (const index of this.indexes.values()) {
      const value = index.of(object);
      if (value === undefined) continue;
      const members = index.members.get(value);
      members?.delete(key);
      if (members?.size === 0) index.members.delete(value);
    }
  }

  private store(key: string, object: T | undefined): void {
    const previous = this.cache.get(key);
    if (previous) this.indexRemove(key, previous);
    if (object === undefined) {
      this.cache.delete(key);
      return;
    }
    this.cache.set(key, object);
    for (const index of this.indexes.values()) this.indexAdd(index, key, object);
  }

  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  get size(): number {
    return this.cache.size;
  }

  get synced(): boolean {
    return this.syncedScopes.size === this.scopes.length;
  }

  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    for (const scope of this.scopes) void this.run(scope);
    this.resyncTimer = setInterval(() => this.resync(), this.options.resyncMs);
    this.resyncTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    for (const abort of this.aborts) abort.abort();
    this.aborts.clear();
  }

  private resync(): void {
    for (const object of this.cache.values()) this.emit(object, "resync");
  }

  private emit(object: T, event: InformerEvent): void {
    for (const handler of this.handlers) {
      try {
        handler(object, event);
      } catch (error) {
        this.options.logger.error({ err: error, informer: this.options.name }, "informer handler failed");
      }
    }
  }

  private async run(scope: string): Promise<void> {
    let backoffMs = 0;
    let resourceVersion = "";
    while (!this.stopped) {
      try {
        if (!resourceVersion) resourceVersion = await this.relist(scope);
        const outcome = await this.watchOnce(scope, resourceVersion, (rv) => {
          resourceVersion = rv;
          backoffMs = 0;
        });
        if (outcome === "expired") resourceVersion = "";
      } catch (error) {
        const failure = apiFailure(error);
        if (failure.code === 410) resourceVersion = "";
        backoffMs = Math.min(backoffMs === 0 ? 500 : backoffMs * 2, 30_000);
        this.options.logger.warn(
          { informer: this.options.name, namespace: scope || "*", code: failure.code, retryInMs: backoffMs },
          `list/watch failed: ${failure.message}`,
        );
        await sleep(backoffMs * (0.5 + Math.random() / 2));
      }
    }
  }

  /** Lists every page, replaces this scope's part of the cache, and returns the list's resourceVersion. */
  private async relist(scope: string): Promise<string> {
    const seen = new Set<string>();
    let continueToken: string | undefined;
    let resourceVersion = "";
    do {
      const page = await this.options.source.list(scope, {
        labelSelector: this.options.labelSelector,
        limit: this.options.pageSize ?? 500,
        continueToken,
      });
      for (const raw of page.items) {
        const object = this.options.transform(raw);
        seen.add(keyOf(object.metadata.namespace, object.metadata.name));
        this.upsert(object);
      }
      continueToken = page.continueToken || undefined;
      resourceVersion = page.resourceVersion;
    } while (continueToken && !this.stopped);
    for (const [key, object] of this.cache) {
      if (!seen.has(key) && (scope === "" || object.metadata.namespace === scope)) {
        this.store(key, undefined);
        this.emit(object, "deleted");
      }
    }
    this.markSynced(scope);
    return resourceVersion;
  }

  private upsert(object: T): void {
    const key = keyOf(object.metadata.namespace, object.metadata.name);
    const previous = this.cache.get(key);
    if (previous && previous.metadata.resourceVersion === object.metadata.resourceVersion) return;
    this.store(key, object);
    this.emit(object, previous ? "updated" : "added");
  }

  private markSynced(scope: string): void {
    this.syncedScopes.add(scope);
    if (this.synced) for (const wake of this.syncWaiters.splice(0)) wake();
  }

  /** Watches until the server or the client ends the stream; "expired" asks for a relist. */
  private watchOnce(
    scope: string,
    from: string,
    advance: (rv: string) => void,
  ): Promise<"ended" | "expired"> {
    const watch = new Watch(this.options.kubeConfig);
    // client-node cuts a watch after 30 s without data (a private setting). Bookmarks arrive about once a
    // minute, so allow two minutes of silence before reconnecting instead of reconnecting every 30 s.
    (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = 120_000;
    return new Promise((resolve, reject) => {
      let expired = false;
      let controller: AbortController | undefined;
      const params: Record<string, string | number | boolean> = {
        resourceVersion: from,
        allowWatchBookmarks: true,
        timeoutSeconds: 240 + Math.floor(Math.random() * 120),
      };
      if (this.options.labelSelector) params.labelSelector = this.options.labelSelector;
      watch
        .watch(
          this.options.source.path(scope),
          params,
          (type: string, raw: { metadata?: { resourceVersion?: string }; code?: number }) => {
            if (type === "ERROR") {
              if (raw.code === 410) expired = true;
              return;
            }
            const rv = raw.metadata?.resourceVersion;
            if (type === "ADDED" || type === "MODIFIED") this.upsert(this.options.transform(raw));
            else if (type === "DELETED") {
              const object = this.options.transform(raw);
              const key = keyOf(object.metadata.namespace, object.metadata.name);
              const known = this.cache.get(key);
              this.store(key, undefined);
              this.emit(known ?? object, "deleted");
            }
            if (rv) advance(rv);
          },
          (error: unknown) => {
            if (controller) this.aborts.delete(controller);
            const name = (error as { name?: string } | null)?.name;
            if (!error || name === "TimeoutError" || name === "AbortError")
              resolve(expired ? "expired" : "ended");
            else reject(error);
          },
        )
        .then((c) => {
          controller = c;
          if (this.stopped) c.abort();
          else this.aborts.add(c);
        }, reject);
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
