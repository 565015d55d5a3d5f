import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import { apiFailure, isAmbiguous } from "./api-errors.ts";
import { backoffDelay } from "./backoff.ts";
import type { InformerSource } from "./informer.ts";

/** Annotation stamped on every write, so an ambiguous failure can be resolved by reading it back. */
export const writeTokenKey = "tekton-lineage.io/write-token";

/** Conditional access to the Leases of one namespace. */
export interface LeaseAccess {
  readonly namespace: string;
  get(name: string): Promise<V1Lease | undefined>;
  create(lease: V1Lease): Promise<V1Lease>;
  replace(lease: V1Lease): Promise<V1Lease>;
  deleteIfUnchanged(name: string, resourceVersion: string): Promise<boolean>;
  list(labelSelector: string): Promise<V1Lease[]>;
}

export interface CasOptions {
  signal?: AbortSignal;
  /** A Lease believed current (from an earlier write), tried before reading; a 409 falls back to a read. */
  hint?: V1Lease;
  /** Called on every 409 conflict, for metrics. */
  onConflict?: () => void;
  maxAttempts?: number;
}

/**
 * Read-modify-write of one Lease with optimistic concurrency. `change` gets the current Lease (or
 * undefined) and returns a new Lease to write (it must not modify the one it was given), or undefined
 * to write nothing. On 409 the Lease is read
 * again and `change` runs again on the fresh copy. On an ambiguous failure (timeout, 5xx) the Lease is
 * read back: if it carries this write's token the write was committed; otherwise it is retried.
 */
export async function compareAndSwap(
  store: LeaseAccess,
  name: string,
  change: (current: V1Lease | undefined) => V1Lease | undefined,
  options: CasOptions = {},
): Promise<V1Lease | undefined> {
  let current: V1Lease | undefined | null = options.hint ?? null;
  const maxAttempts = options.maxAttempts ?? 50;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    if (current === null) current = await store.get(name);
    const next = change(current);
    if (next === undefined) return current;
    const token = randomBytes(9).toString("base64url");
    next.metadata = {
      ...next.metadata,
      name,
      namespace: store.namespace,
      annotations: { ...next.metadata?.annotations, [writeTokenKey]: token },
    };
    if (current) next.metadata.resourceVersion = current.metadata?.resourceVersion;
    else delete next.metadata.resourceVersion;
    try {
      return current ? await store.replace(next) : await store.create(next);
    } catch (error) {
      const failure = apiFailure(error);
      if (failure.code === 409 || (failure.code === 404 && current)) {
        options.onConflict?.();
      } else if (isAmbiguous(error)) {
        const stored = await readBack(store, name, options.signal);
        if (stored?.metadata?.annotations?.[writeTokenKey] === token) return stored;
        current = stored ?? null;
        if (attempt >= maxAttempts) throw error;
        await sleep(backoffDelay(attempt, { baseMs: 50, capMs: 1000 }), undefined, {
          signal: options.signal,
        });
        continue;
      } else {
        throw error;
      }
      if (attempt >= maxAttempts)
        throw new Error(`gave up on Lease ${name} after ${attempt} conflicting writes`);
      current = null;
    }
  }
}

/** Reads a Lease after an ambiguous write, retrying the read itself while the API server is unreachable. */
async function readBack(
  store: LeaseAccess,
  name: string,
  signal?: AbortSignal,
): Promise<V1Lease | undefined> {
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await store.get(name);
    } catch (error) {
      if (!isAmbiguous(error) || attempt >= 20) throw error;
      await pause(backoffDelay(attempt, { baseMs: 100, capMs: 1000 }), signal);
    }
  }
}

/** Waits, unless the signal aborts first: then rejects with the signal's reason. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch((error: unknown) => {
    throw signal?.reason ?? error;
  });
}

/** A Lease as the informer keeps it (raw JSON: times are strings). */
export type CachedLease = V1Lease & { metadata: NonNullable<V1Lease["metadata"]> };

/** Drops what no reader needs (managedFields above all, which server-side writers make large). */
export function trimLease(raw: unknown): CachedLease {
  const lease = raw as V1Lease;
  const m = lease.metadata ?? {};
  return {
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
      labels: m.labels,
      annotations: m.annotations,
    },
    spec: lease.spec,
  };
}

/** List-and-watch access to the Leases of one namespace, for an Informer. */
export function leaseSource(kubeConfig: KubeConfig, namespace: string): InformerSource {
  const api = kubeConfig.makeApiClient(CoordinationV1Api);
  return {
    path: () => `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`,
    async list(_scope, options) {
      const list = await api.listNamespacedLease({
        namespace,
        labelSelector: options.labelSelector,
        limit: options.limit,
        _continue: options.continueToken,
      });
      return {
        items: list.items,
        resourceVersion: list.metadata?.resourceVersion ?? "",
        continueToken: list.metadata?._continue,
      };
    },
  };
}

export function microTime(date: Date): V1MicroTime {
  return new V1MicroTime(date.getTime());
}
