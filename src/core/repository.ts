import { parseDuration } from "../config/parsers.ts";
import type { CustomResource } from "../kube/custom-objects.ts";
import type { CachedObject } from "../kube/informer.ts";
import { prefix, repositoryKeys } from "./vocabulary.ts";

/** PaC's Repository resource. */
export const repositoryResource: CustomResource = {
  group: "pipelinesascode.tekton.dev",
  version: "v1alpha1",
  plural: "repositories",
};

/** A PaC Repository, trimmed to what tekton-lineage reads (queue settings, URL, git provider). */
export interface Repository extends CachedObject {
  metadata: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    annotations?: Record<string, string>;
  };
  spec?: {
    url?: string;
    concurrency_limit?: number;
    git_provider?: {
      url?: string;
      type?: string;
      secret?: { name?: string; key?: string };
    };
  };
}

export function trimRepository(raw: unknown): Repository {
  const r = raw as Repository;
  const annotations = Object.fromEntries(
    Object.entries(r.metadata?.annotations ?? {}).filter(([k]) => k.startsWith(prefix)),
  );
  return {
    metadata: {
      name: r.metadata?.name,
      namespace: r.metadata?.namespace,
      resourceVersion: r.metadata?.resourceVersion,
      uid: r.metadata?.uid,
      annotations,
    },
    spec: {
      url: r.spec?.url,
      concurrency_limit: r.spec?.concurrency_limit,
      git_provider: r.spec?.git_provider
        ? {
            url: r.spec.git_provider.url,
            type: r.spec.git_provider.type,
            secret: r.spec.git_provider.secret
              ? { name: r.spec.git_provider.secret.name, key: r.spec.git_provider.secret.key }
              : undefined,
          }
        : undefined,
    },
  };
}

/** The Repository fields the queue reads. */
export interface RepositoryView {
  namespace: string;
  name: string;
  concurrencyLimit?: number;
  annotations: Record<string, string>;
}

export function repositoryView(repository: Repository | undefined): RepositoryView | undefined {
  if (!repository?.metadata.name || !repository.metadata.namespace) return undefined;
  return {
    namespace: repository.metadata.namespace,
    name: repository.metadata.name,
    concurrencyLimit: repository.spec?.concurrency_limit,
    annotations: repository.metadata.annotations ?? {},
  };
}

/** A Repository's queue settings: opted in to tekton-lineage's queue, its limit, its longest wait. */
export interface RepositoryQueue {
  optedIn: boolean;
  /** tekton-lineage.io/concurrency-limit; undefined unless positive. */
  limit?: number;
  /** tekton-lineage.io/max-queue-wait, else the default (a malformed value keeps the default). */
  maxWaitMs: number;
}

export function repositoryQueue(repository: RepositoryView, defaultMaxWaitMs: number): RepositoryQueue {
  const a = repository.annotations;
  return {
    optedIn: a[repositoryKeys.queue] === "enabled",
    limit: positive(a[repositoryKeys.concurrencyLimit]),
    maxWaitMs: durationOr(a[repositoryKeys.maxQueueWait], defaultMaxWaitMs),
  };
}

/** The concurrency limit Pipelines-as-Code enforces on a Repository itself, and where it comes from. */
export interface PacLimit {
  limit: number;
  from: "repository" | "global";
}

/**
 * The limit PaC enforces itself on a Repository's runs: its own spec.concurrency_limit, or, when it sets
 * none, the global Repository's (PaC merges them: pkg/apis/pipelinesascode/v1alpha1/types.go,
 * RepositorySpec.Merge). PaC creates such runs Pending and starts them from its own queue
 * (pipelineascode.go, startPR; reconciler/queue_pipelineruns.go). An explicit 0 means none, and shields
 * the Repository from the global limit.
 */
export function pacLimitOf(
  repository: RepositoryView,
  global: RepositoryView | undefined,
): PacLimit | undefined {
  const own = repository.concurrencyLimit;
  if (own !== undefined && own !== null) return own !== 0 ? { limit: own, from: "repository" } : undefined;
  const inherited = global?.concurrencyLimit;
  return inherited ? { limit: inherited, from: "global" } : undefined;
}

function positive(value: unknown): number | undefined {
  const n = typeof value === "number" ? value : Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function durationOr(text: string | undefined, fallback: number): number {
  if (!text) return fallback;
  try {
    return parseDuration(text);
  } catch {
    return fallback;
  }
}

/** A Repository's git provider as PaC uses it, and where its token Secret lives. */
export interface EffectiveGitProvider {
  url?: string;
  type?: string;
  secret?: { namespace: string; name: string; key?: string };
  /** The token is the global Repository's (its namespace, PaC's): it may go only where that one points. */
  inheritedFrom?: { namespace: string; url?: string };
}

/**
 * PaC's RepositorySpec.Merge of git_provider with the global Repository's (GitProvider.Merge, the same in
 * v0.37.0 and v0.50.0): only when both have a git_provider, and only of the same type, the global one fills
 * what the Repository leaves empty — URL, type, token Secret. A token Secret so inherited is read in the
 * global Repository's namespace (reconciler.go, secretNS; secrets.SecretFromRepository).
 */
export function effectiveGitProvider(
  repository: Repository | undefined,
  global: Repository | undefined,
): EffectiveGitProvider {
  const own = repository?.spec?.git_provider;
  const namespace = repository?.metadata.namespace ?? "";
  const ownSecret = own?.secret?.name ? { namespace, name: own.secret.name, key: own.secret.key } : undefined;
  const base: EffectiveGitProvider = { url: own?.url, type: own?.type, secret: ownSecret };
  const theirs = global?.spec?.git_provider;
  if (!own || !theirs || (own.type && theirs.type && own.type !== theirs.type)) return base;
  const inherited = !ownSecret && theirs.secret?.name !== undefined;
  return {
    url: own.url || theirs.url,
    type: own.type || theirs.type,
    secret: inherited
      ? {
          namespace: global?.metadata.namespace ?? "",
          name: theirs.secret?.name ?? "",
          key: theirs.secret?.key,
        }
      : ownSecret,
    inheritedFrom: inherited ? { namespace: global?.metadata.namespace ?? "", url: theirs.url } : undefined,
  };
}
