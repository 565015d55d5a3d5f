import type { CachedObject } from "./informer.ts";

export const keyOf = (namespace: string | undefined, name: string | undefined) =>
  `${namespace ?? ""}/${name ?? ""}`;

interface Index<T> {
  of: (object: T) => string | undefined;
  members: Map<string, Set<string>>;
}

/** Objects by namespace/name, with indexes by derived values (a label, say) kept current on every change. */
export class IndexedStore<T extends CachedObject> {
  private readonly objects = new Map<string, T>();
  private readonly indexes = new Map<string, Index<T>>();

  get(namespace: string | undefined, name: string): T | undefined {
    return this.objects.get(keyOf(namespace, name));
  }

  getByKey(key: string): T | undefined {
    return this.objects.get(key);
  }

  list(namespace?: string): T[] {
    const all = [...this.objects.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  entries(): IterableIterator<[string, T]> {
    return this.objects.entries();
  }

  get size(): number {
    return this.objects.size;
  }

  /** Keeps objects findable by a derived value; asking twice for one name is harmless. */
  addIndex(name: string, of: (object: T) => string | undefined): void {
    if (this.indexes.has(name)) return;
    const index: Index<T> = { of, members: new Map() };
    this.indexes.set(name, index);
    for (const [key, object] of this.objects) add(index, key, object);
  }

  /** The objects whose index value is `value`. */
  byIndex(name: string, value: string): T[] {
    const keys = this.indexes.get(name)?.members.get(value) ?? new Set<string>();
    return [...keys].flatMap((key) => {
      const object = this.objects.get(key);
      return object ? [object] : [];
    });
  }

  /** Every value an index currently holds. */
  indexValues(name: string): string[] {
    return [...(this.indexes.get(name)?.members.keys() ?? [])];
  }

  /** Stores (or, with undefined, removes) the object under its key; returns what was there. */
  put(key: string, object: T | undefined): T | undefined {
    const previous = this.objects.get(key);
    if (previous) {
      for (const index of this.indexes.values()) remove(index, key, previous);
    }
    if (object === undefined) this.objects.delete(key);
    else {
      this.objects.set(key, object);
      for (const index of this.indexes.values()) add(index, key, object);
    }
    return previous;
  }
}

function add<T>(index: Index<T>, key: string, object: T): void {
  const value = index.of(object);
  if (value === undefined) return;
  const members = index.members.get(value) ?? new Set<string>();
  members.add(key);
  index.members.set(value, members);
}

function remove<T>(index: Index<T>, key: string, object: T): void {
  const value = index.of(object);
  if (value === undefined) return;
  const members = index.members.get(value);
  members?.delete(key);
  if (members?.size === 0) index.members.delete(value);
}
