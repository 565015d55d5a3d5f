import type { RepositoryView } from "../queue/choose.ts";
import type { CachedObject } from "./informer.ts";

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
    Object.entries(r.metadata?.annotations ?? {}).filter(([k]) => k.startsWith("tekton-lineage.io/")),
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

export function repositoryView(repository: Repository | undefined): RepositoryView | undefined {
  if (!repository?.metadata.name || !repository.metadata.namespace) return undefined;
  return {
    namespace: repository.metadata.namespace,
    name: repository.metadata.name,
    concurrencyLimit: repository.spec?.concurrency_limit,
    annotations: repository.metadata.annotations ?? {},
  };
}
