import type { ObjectMeta, PipelineRun, RunMeta } from "../core/tekton.ts";
import { labelKeys } from "../core/vocabulary.ts";
import { filterCache } from "../kube/filtered-cache.ts";
import type { ObjectCache } from "../kube/informer.ts";
import { claimsGenuine, type KeyRing, type SigningKey } from "./claims.ts";

/** What a run's claims were signed over, from its metadata (a cached run's, or a listing's). */
export function claimsSubject(
  meta: Pick<ObjectMeta, "namespace" | "name" | "labels" | "annotations">,
): RunMeta {
  return {
    namespace: meta.namespace ?? "",
    name: meta.name ?? "",
    labels: meta.labels ?? {},
    annotations: meta.annotations ?? {},
  };
}

/** The run's claims were signed by tekton-lineage for this very name and namespace. */
export function isGenuine(run: PipelineRun, keys: KeyRing): boolean {
  return claimsGenuine(claimsSubject(run.metadata), keys.all());
}

/**
 * isGenuine, remembered per cached object and key ring. The views filter every read through it — a
 * queue's runs on each of its reconciles — and an HMAC over the canonical claims was a fifth of the
 * reconciler's CPU in `make bench` queue. A cached run is never changed in place (each watch event brings
 * a new object), and a ring that changes is a new array, so neither can leave a verdict stale.
 */
function rememberedGenuine(keys: KeyRing): (run: PipelineRun) => boolean {
  const verdicts = new WeakMap<PipelineRun, { ring: readonly SigningKey[]; genuine: boolean }>();
  return (run) => {
    const ring = keys.all();
    const known = verdicts.get(run);
    if (known?.ring === ring) return known.genuine;
    const genuine = claimsGenuine(claimsSubject(run.metadata), ring);
    verdicts.set(run, { ring, genuine });
    return genuine;
  };
}

/**
 * The runs of a cache whose claims are genuine: the only runs the reconciler acts on. A run that carries
 * tekton-lineage's keys without tekton-lineage's signature for its name and namespace (forged, copied, or
 * edited past validation) is invisible here: it cannot cancel, overtake or report for another run.
 * Changes of such runs wake no controller.
 */
export function genuineRuns(
  cache: ObjectCache<PipelineRun>,
  keys: KeyRing & Partial<Pick<ObjectCache<PipelineRun>, "synced" | "whenSynced">>,
): ObjectCache<PipelineRun> {
  return filterCache(cache, rememberedGenuine(keys), {
    // Synced once the runs are listed and the keys to verify them are loaded.
    get synced() {
      return cache.synced && keys.synced !== false;
    },
    whenSynced: async () => {
      await Promise.all([cache.whenSynced(), keys.whenSynced?.()]);
    },
  });
}

/** The lineage index of runs: namespace/lineage id, so a lineage never spans namespaces. */
export const lineageIndex = "namespace/lineage-id";

export function lineageIndexValue(run: PipelineRun): string | undefined {
  const id = run.metadata.labels?.[labelKeys.lineageId];
  return id ? `${run.metadata.namespace ?? ""}/${id}` : undefined;
}

/** Splits a lineage key of the index into its namespace and lineage id. */
export function splitLineageKey(key: string): { namespace: string; lineageId: string } {
  const slash = key.lastIndexOf("/");
  return { namespace: key.slice(0, slash), lineageId: key.slice(slash + 1) };
}
