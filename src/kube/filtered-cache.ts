import type { CachedObject, ObjectCache } from "./informer.ts";

/**
 * The objects of a cache that `keep` accepts, as a cache of their own: reads, indexes and change events
 * all pass through the filter, so whoever reads the view never hears of the others. `keep` may change
 * its answer over time (a bucket taken or given up).
 */
export function filterCache<T extends CachedObject>(
  cache: ObjectCache<T>,
  keep: (object: T) => boolean,
  sync: Pick<ObjectCache<T>, "synced" | "whenSynced"> = cache,
): ObjectCache<T> {
  const kept = (object: T | undefined) => (object && keep(object) ? object : undefined);
  return {
    get: (namespace, name) => kept(cache.get(namespace, name)),
    list: (namespace) => cache.list(namespace).filter(keep),
    addIndex: (name, of) => cache.addIndex(name, of),
    byIndex: (name, value) => cache.byIndex(name, value).filter(keep),
    // Only values some kept object has: a term starting from every key asks for no other's.
    indexValues: (name) => cache.indexValues(name).filter((value) => cache.byIndex(name, value).some(keep)),
    onChange: (handler) =>
      cache.onChange((object, event) => {
        if (keep(object)) handler(object, event);
      }),
    get synced() {
      return sync.synced;
    },
    whenSynced: () => sync.whenSynced(),
  };
}
