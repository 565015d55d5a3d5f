import type { ObjectMeta, PipelineRun } from "../core/tekton.ts";
import { labelKeys, signatureKey } from "../core/vocabulary.ts";
import type { ObjectCache } from "../kube/informer.ts";
import type { KeysInUse } from "../kube/signing-keys.ts";
import { claimsGenuine, type SigningKey, signatureKeyId } from "./claims.ts";
import { claimsSubject } from "./genuine-runs.ts";

type Meta = Pick<ObjectMeta, "namespace" | "name" | "labels" | "annotations">;

/** The ids of the keys that signed these runs' claims, counting only claims that verify with `keys`. */
export function keysSigning(metas: Iterable<Meta>, keys: readonly SigningKey[]): Set<string> {
  const ids = new Set<string>();
  for (const meta of metas) {
    const subject = claimsSubject(meta);
    const id = signatureKeyId(subject.annotations[signatureKey] ?? "");
    // A forged signature naming a retired key must not keep that key alive.
    if (id && !ids.has(id) && claimsGenuine(subject, keys)) ids.add(id);
  }
  return ids;
}

/**
 * Keys in use, read from a cache of every admitted run (an unsharded reconciler watching every
 * namespace) through its genuine view: free, so asked on every round.
 */
export function keysInUseCached(runs: {
  cache: Pick<ObjectCache<PipelineRun>, "synced">;
  genuine: Pick<ObjectCache<PipelineRun>, "list">;
}): KeysInUse {
  return async () => {
    if (!runs.cache.synced) return undefined;
    const ids = new Set<string>();
    for (const run of runs.genuine.list()) {
      const id = signatureKeyId(run.metadata.annotations?.[signatureKey] ?? "");
      if (id) ids.add(id);
    }
    return ids;
  };
}

/** Pages of the metadata of the PipelineRuns a label selector selects, in every namespace. */
export type ListRunMetadata = (labelSelector: string) => AsyncIterable<Meta[]>;

/**
 * Keys in use, listed: for a reconciler that caches only its buckets' runs. Every admitted run's
 * metadata is listed (by tekton-lineage's lineage label, never every PipelineRun), a page at a time and
 * verified with the Secret's keys, so no replica needs every run in memory. A listing is asked for only
 * when a key could be dropped (dropUnusedKeys), and at most once per `minIntervalMs`: while a retired
 * key still signs a live run, a cluster of 100k runs is listed once an interval, not every round.
 */
export function keysInUseListed(options: {
  list: ListRunMetadata;
  minIntervalMs: number;
  now?: () => number;
}): KeysInUse {
  const now = options.now ?? Date.now;
  let lastListed = Number.NEGATIVE_INFINITY;
  return async (keys) => {
    if (now() - lastListed < options.minIntervalMs) return undefined;
    lastListed = now();
    const ids = new Set<string>();
    for await (const page of options.list(labelKeys.lineageId))
      for (const id of keysSigning(page, keys)) ids.add(id);
    return ids;
  };
}
