import { IndexedStore, keyOf } from "./indexed-store.ts";
import type { CachedObject, Handler, ObjectCache } from "./informer.ts";

/**
 * An ObjectCache held in memory: a one-time snapshot of a list (the `explain` command reads the cluster
 * once, through the same views the controllers use), or filled by unit tests of controllers.
 */
export class MemoryCache<T extends CachedObject> implements ObjectCache<T> {
  private readonly store = new IndexedStore<T>();
  private readonly handlers: Handler<T>[] = [];
  synced = true;

  constructor(objects: readonly T[] = []) {
    for (const object of objects)
      this.store.put(keyOf(object.metadata.namespace, object.metadata.name), object);
  }

  /** Adds or replaces an object and tells the handlers, as a watch event would. */
  set(object: T): void {
    const previous = this.store.put(keyOf(object.metadata.namespace, object.metadata.name), object);
    for (const handler of this.handlers) handler(object, previous ? "updated" : "added");
  }

  /** Removes an object and tells the handlers, as a watch event would. */
  delete(namespace: string | undefined, name: string): void {
    const object = this.store.put(keyOf(namespace, name), undefined);
    if (object) for (const handler of this.handlers) handler(object, "deleted");
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.store.get(namespace, name);
  }

  list(namespace?: string): T[] {
    return this.store.list(namespace);
  }

  addIndex(name: string, of: (object: T) => string | undefined): void {
    this.store.addIndex(name, of);
  }

  byIndex(name: string, value: string): T[] {
    return this.store.byIndex(name, value);
  }

  indexValues(name: string): string[] {
    return this.store.indexValues(name);
  }

  onChange(handler: Handler<T>): void {
    this.handlers.push(handler);
  }

  whenSynced(): Promise<void> {
    return Promise.resolve();
  }
}
