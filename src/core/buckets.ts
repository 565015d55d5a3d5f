import { createHash } from "node:crypto";

/**
 * Buckets: how the reconcile work of the cluster is shared between replicas. Everything a reconcile may
 * read together lies in one namespace — a lineage's attempts, the lineages of one commit, a
 * Repository's queue (`pac/<namespace>/<repository>`), the attempt counters and PaC's creation failures
 * of those lineages — so a bucket is a function of the namespace alone, and whoever holds a bucket holds
 * all of it. Queues of --queue-rules may gather runs of several namespaces: they are no bucket's, and
 * the elected leader keeps them (see roles/reconciler.ts).
 *
 * The label's value names the bucket count too (`3-of-16`), so a run labelled under one count is never
 * taken for a bucket of another: replicas act on buckets only while every live replica agrees on the
 * count, and runs labelled under another count are labelled again.
 */
export interface BucketSpace {
  readonly count: number;
}

/** The bucket (0 ≤ b < count) of a namespace: the first 4 bytes of its SHA-256, modulo the count. */
export function bucketIndexOf(namespace: string, count: number): number {
  if (count <= 1) return 0;
  return createHash("sha256").update(namespace).digest().readUInt32BE(0) % count;
}

export function bucketValue(index: number, count: number): string {
  return `${index}-of-${count}`;
}

/** The bucket label value of a namespace's runs. */
export function bucketOf(namespace: string, count: number): string {
  return bucketValue(bucketIndexOf(namespace, count), count);
}

/** Every valid label value under `count`, in bucket order. */
export function bucketValues(count: number): string[] {
  return Array.from({ length: Math.max(1, count) }, (_, index) => bucketValue(index, Math.max(1, count)));
}

/** The index a label value names under `count`, or undefined when it names another count or nothing. */
export function bucketIndexOfValue(value: string | undefined, count: number): number | undefined {
  const match = /^(\d+)-of-(\d+)$/.exec(value ?? "");
  if (!match || Number(match[2]) !== count) return undefined;
  const index = Number(match[1]);
  return index < count ? index : undefined;
}

/** The prefix of a Repository's queue key (choose.ts); a rule's rendered key never starts with it. */
export const repositoryQueuePrefix = "pac/";

/** The namespace a queue key is bound to: a Repository's queue; undefined for a rule's queue. */
export function queueNamespaceOf(key: string): string | undefined {
  if (!key.startsWith(repositoryQueuePrefix)) return undefined;
  const rest = key.slice(repositoryQueuePrefix.length);
  const slash = rest.indexOf("/");
  return slash > 0 ? rest.slice(0, slash) : undefined;
}
