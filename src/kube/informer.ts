import { setTimeout as sleep } from "node:timers/promises";
import { type KubeConfig, Watch } from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.ts";
import { apiFailure } from "./api-errors.ts";
import { backoffDelay, jitter } from "./backoff.ts";
import { IndexedStore, keyOf } from "./indexed-store.ts";

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
    options: { labelSelector?: string; fieldSelector?: string; limit: number; continueToken?: string },
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
  fieldSelector?: string;
  /** Trims a raw object to what the reconcilers read, so the cache stays small. */
  transform: (raw: unknown) => T;
  /** Every resyncMs, every cached object is handed to the handlers again (level-based reconciles). */
  resyncMs: number;
  logger: Logger;
  pageSize?: number;
  /**
   * Watch only objects whose label `partitionLabel` has one of the values given to setPartitions(): one
   * list-watch per namespace and value, so a partition is added or dropped without relisting the others.
   * `transform` must keep this label. An object relabelled from one watched partition to another may be
   * seen deleted and then added again (the two watches tell it in either order).
   */
  partitionLabel?: string;
  /**
   * Lists at most this many scopes at once (default: all). A partitioned informer taking on many buckets
   * lists them a few at a time, so the API server still answers everything else (Lease renewals) meanwhile.
   */
  listConcurrency?: number;
}

/** One list-watch: a namespace ("" for all), and a value of the partition label when partitioned. */
interface Scope {
  id: string;
  namespace: string;
  partition?: string;
  stopped: boolean;
  aborts: Set<AbortController>;
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

/**
 * A list-watch cache that never stops on its own: it lists in pages, watches from the listed
 * resourceVersion with bookmarks, relists when the version is too old (410), restarts with backoff
 * after any error, and resyncs periodically. Objects are trimmed by `transform` before they are kept.
 */
export class Informer<T extends CachedObject> implements ObjectCache<T> {
  private readonly cache = new IndexedStore<T>();
  private readonly handlers: Handler<T>[] = [];
  private readonly namespaces: string[];
  private partitions: readonly string[] = [];
  private scopes = new Map<string, Scope>();
  private readonly syncedScopes = new Set<string>();
  private syncWaiters: (() => void)[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private readonly listing: Limiter;

  private readonly options: InformerOptions<T>;

  constructor(options: InformerOptions<T>) {
    this.options = options;
    this.namespaces = options.namespaces.length === 0 ? [""] : [...options.namespaces];
    this.listing = new Limiter(options.listConcurrency ?? Number.POSITIVE_INFINITY);
    this.scopes = this.scopesFor([]);
  }

  onChange(handler: Handler<T>): void {
    this.handlers.push(handler);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace, name);
  }

  /** Keeps objects findable by a derived value (a label, say); add indexes before start(). */
  addIndex(name: string, of: (object: T) => string | undefined): void {
    this.cache.addIndex(name, of);
  }

  byIndex(name: string, value: string): T[] {
    return this.cache.byIndex(name, value);
  }

  indexValues(name: string): string[] {
    return this.cache.indexValues(name);
  }

  list(namespace?: string): T[] {
    return this.cache.list(namespace);
  }

  get size(): number {
    return this.cache.size;
  }

  get synced(): boolean {
    return [...this.scopes.keys()].every((id) => this.syncedScopes.has(id));
  }

  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    for (const scope of this.scopes.values()) void this.run(scope);
    this.resyncTimer = setInterval(() => this.resync(), this.options.resyncMs);
    this.resyncTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    for (const scope of this.scopes.values()) halt(scope);
  }

  /**
   * Watches these values of the partition label from now on; resolves once every one is listed. A value
   * no longer given is dropped with its objects, without events: they were not deleted, only no longer
   * watched here.
   */
  async setPartitions(values: readonly string[]): Promise<void> {
    if (!this.options.partitionLabel) throw new Error(`informer ${this.options.name} is not partitioned`);
    this.partitions = [...new Set(values)].sort();
    const next = this.scopesFor(this.partitions);
    for (const [id, scope] of this.scopes) {
      if (next.has(id)) continue;
      halt(scope);
      this.syncedScopes.delete(id);
      for (const [key, object] of [...this.cache.entries()])
        if (inScope(scope, object, this.options.partitionLabel)) this.cache.put(key, undefined);
    }
    for (const [id, scope] of next) {
      const current = this.scopes.get(id);
      if (current) next.set(id, current);
      else if (!this.stopped) void this.run(scope);
    }
    this.scopes = next;
    if (this.synced) for (const wake of this.syncWaiters.splice(0)) wake();
    await this.whenSynced();
  }

  /** The partition values watched now. */
  get watchedPartitions(): readonly string[] {
    return this.partitions;
  }

  private scopesFor(partitions: readonly string[]): Map<string, Scope> {
    const scopes = new Map<string, Scope>();
    const values: (string | undefined)[] = this.options.partitionLabel ? [...partitions] : [undefined];
    for (const namespace of this.namespaces)
      for (const partition of values) {
        const id = partition === undefined ? namespace : `${namespace}|${partition}`;
        scopes.set(id, { id, namespace, partition, stopped: false, aborts: new Set() });
      }
    return scopes;
  }

  private selectorOf(scope: Scope): string | undefined {
    const parts = [
      this.options.labelSelector,
      scope.partition !== undefined ? `${this.options.partitionLabel}=${scope.partition}` : undefined,
    ];
    const selector = parts.filter(Boolean).join(",");
    return selector || undefined;
  }

  private resync(): void {
    for (const [, object] of this.cache.entries()) this.emit(object, "resync");
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

  private async run(scope: Scope): Promise<void> {
    let failures = 0;
    let resourceVersion = "";
    while (!this.stopped && !scope.stopped) {
      try {
        if (!resourceVersion) resourceVersion = await this.listing.run(() => this.relist(scope));
        const outcome = await this.watchOnce(scope, resourceVersion, (rv) => {
          resourceVersion = rv;
          failures = 0;
        });
        if (outcome === "expired") resourceVersion = "";
      } catch (error) {
        const failure = apiFailure(error);
        if (failure.code === 410) resourceVersion = "";
        failures += 1;
        const backoffMs = backoffDelay(failures, { baseMs: 500, capMs: 30_000, jitter: 0.5 });
        this.options.logger.warn(
          {
            informer: this.options.name,
            namespace: scope.namespace || "*",
            partition: scope.partition,
            code: failure.code,
            retryInMs: backoffMs,
          },
          `list/watch failed: ${failure.message}`,
        );
        await sleep(backoffMs, undefined, { ref: false });
      }
    }
  }

  /** Lists every page, replaces this scope's part of the cache, and returns the list's resourceVersion. */
  private async relist(scope: Scope): Promise<string> {
    const seen = new Set<string>();
    let continueToken: string | undefined;
    let resourceVersion = "";
    do {
      const page = await this.options.source.list(scope.namespace, {
        labelSelector: this.selectorOf(scope),
        fieldSelector: this.options.fieldSelector,
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
    } while (continueToken && !this.stopped && !scope.stopped);
    if (scope.stopped) return resourceVersion;
    for (const [key, object] of [...this.cache.entries()]) {
      if (!seen.has(key) && inScope(scope, object, this.options.partitionLabel)) {
        this.cache.put(key, undefined);
        this.emit(object, "deleted");
      }
    }
    this.markSynced(scope);
    return resourceVersion;
  }

  private upsert(object: T): void {
    const key = keyOf(object.metadata.namespace, object.metadata.name);
    const previous = this.cache.getByKey(key);
    if (previous && previous.metadata.resourceVersion === object.metadata.resourceVersion) return;
    this.cache.put(key, object);
    this.emit(object, previous ? "updated" : "added");
  }

  private markSynced(scope: Scope): void {
    if (this.scopes.get(scope.id) !== scope) return;
    this.syncedScopes.add(scope.id);
    if (this.synced) for (const wake of this.syncWaiters.splice(0)) wake();
  }

  /** Watches until the server or the client ends the stream; "expired" asks for a relist. */
  private watchOnce(scope: Scope, from: string, advance: (rv: string) => void): Promise<"ended" | "expired"> {
    const watch = new Watch(this.options.kubeConfig);
    // client-node cuts a watch after 30 s without data (a private setting). Bookmarks arrive about once a
    // minute, so allow two minutes of silence before reconnecting instead of reconnecting every 30 s.
    raiseWatchTimeout(watch, 120_000);
    return new Promise((resolve, reject) => {
      let expired = false;
      let controller: AbortController | undefined;
      const params: Record<string, string | number | boolean> = {
        resourceVersion: from,
        allowWatchBookmarks: true,
        timeoutSeconds: Math.floor(jitter(300, 0.2)),
      };
      const labelSelector = this.selectorOf(scope);
      if (labelSelector) params.labelSelector = labelSelector;
      if (this.options.fieldSelector) params.fieldSelector = this.options.fieldSelector;
      watch
        .watch(
          this.options.source.path(scope.namespace),
          params,
          (type: string, raw: { metadata?: { resourceVersion?: string }; code?: number }) => {
            if (scope.stopped) return;
            if (type === "ERROR") {
              if (raw.code === 410) expired = true;
              return;
            }
            const rv = raw.metadata?.resourceVersion;
            if (type === "ADDED" || type === "MODIFIED") this.upsert(this.options.transform(raw));
            else if (type === "DELETED") {
              const object = this.options.transform(raw);
              const key = keyOf(object.metadata.namespace, object.metadata.name);
              const cached = this.cache.getByKey(key);
              // Relabelled into another watched partition whose watch told us first: not gone. (Told in the
              // other order — a DELETED carries the object as it was — it is gone, then added again.)
              if (!cached || inScope(scope, cached, this.options.partitionLabel)) {
                const known = this.cache.put(key, undefined);
                this.emit(known ?? object, "deleted");
              }
            }
            if (rv) advance(rv);
          },
          (error: unknown) => {
            if (controller) scope.aborts.delete(controller);
            const name = (error as { name?: string } | null)?.name;
            if (!error || name === "TimeoutError" || name === "AbortError")
              resolve(expired ? "expired" : "ended");
            else reject(error);
          },
        )
        .then((c) => {
          controller = c;
          if (this.stopped || scope.stopped) c.abort();
          else scope.aborts.add(c);
        }, reject);
    });
  }
}

/**
 * client-node's Watch cuts a watch after `requestTimeoutMs` (30 s) without data; the field is private.
 * Guarded by informer.test.ts, so an upgrade that renames it fails a test instead of reconnecting often.
 */
export function raiseWatchTimeout(watch: Watch, ms: number): void {
  (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = ms;
}

function halt(scope: Scope): void {
  scope.stopped = true;
  for (const abort of scope.aborts) abort.abort();
  scope.aborts.clear();
}

/** Whether a cached object came from this scope's list-watch. */
function inScope(
  scope: Scope,
  object: CachedObject & { metadata: { labels?: Record<string, string> } },
  label?: string,
): boolean {
  if (scope.namespace !== "" && object.metadata.namespace !== scope.namespace) return false;
  return scope.partition === undefined || object.metadata.labels?.[label ?? ""] === scope.partition;
}

/** Runs at most `limit` tasks at once, the others in arrival order. */
class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running += 1;
    try {
      return await task();
    } finally {
      this.running -= 1;
      this.waiting.shift()?.();
    }
  }
}
