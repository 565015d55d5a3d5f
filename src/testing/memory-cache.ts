import {
  type CachedObject,
  type Handler,
  type InformerEvent,
  keyOf,
  type ObjectCache,
} from "../kube/informer.ts";

/** An ObjectCache held in memory, filled by the test; for unit tests of controllers. */
export class MemoryCache<T extends CachedObject> implements ObjectCache<T> {
  private readonly objects = new Map<string, T>();
  private readonly indexes = new Map<string, (object: T) => string | undefined>();
  private readonly handlers: Handler<T>[] = [];
  synced = true;

  constructor(objects: readonly T[] = []) {
    for (const object of objects)
      this.objects.set(keyOf(object.metadata.namespace, object.metadata.name), object);
  }

  /** Adds or replaces an object and tells the handlers, as a watch event would. */
  set(object: T): void {
    const key = keyOf(object.metadata.namespace, object.metadata.name);
    const event: InformerEvent = this.objects.has(key) ? "updated" : "added";
    this.objects.set(key, object);
    for (const handler of this.handlers) handler(object, event);
  }

  delete(namespace: string | undefined, name: string): void {
    const key = keyOf(namespace, name);
    const object = this.objects.get(key);
    if (!object) return;
    this.objects.delete(key);
    for (const handler of this.handlers) handler(object, "deleted");
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.objects.get(keyOf(namespace, name));
  }

  list(namespace?: string): T[] {
    const all = [...this.objects.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  addIndex(name: string, of: (object: T) => string | undefined): void {
    this.indexes.set(name, of);
  }

  byIndex(name: string, value: string): T[] {
    const of = this.indexes.get(name);
    return of ? [...this.objects.values()].filter((o) => of(o) === value) : [];
  }

  indexValues(name: string): string[] {
    const of = this.indexes.get(name);
    if (!of) return [];
    return [...new Set([...this.objects.values()].flatMap((o) => of(o) ?? []))];
  }

  onChange(handler: Handler<T>): void {
    this.handlers.push(handler);
  }

  whenSynced(): Promise<void> {
    return Promise.resolve();
  }
}
