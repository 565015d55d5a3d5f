import type { KubeHttp } from "./kube-http.ts";

/** Asks for metadata only (as client-go's metadata client does); a server that cannot answers in full. */
export const metadataOnly =
  "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

/** What a listing keeps of an object's metadata. */
export interface ListedMeta {
  namespace?: string;
  name?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/**
 * The metadata of every object under `path` (a collection: `/apis/<group>/<version>/<plural>`) that the
 * label selector selects, a page at a time. The pages are one snapshot (the API server's continue
 * token pins the first page's resourceVersion); a token that expired mid-way fails the whole listing
 * (410), so a caller never reads a part as the whole.
 */
export async function* listMetadata(
  http: KubeHttp,
  path: string,
  options: { labelSelector: string; pageSize: number },
): AsyncGenerator<ListedMeta[]> {
  let continueToken = "";
  do {
    const query = new URLSearchParams({
      labelSelector: options.labelSelector,
      limit: String(options.pageSize),
    });
    if (continueToken) query.set("continue", continueToken);
    const page = (await http.call("GET", `${path}?${query}`, undefined, metadataOnly)) as {
      items?: { metadata?: ListedMeta }[];
      metadata?: { continue?: string };
    };
    yield (page.items ?? []).flatMap((item) => (item.metadata ? [item.metadata] : []));
    continueToken = page.metadata?.continue ?? "";
  } while (continueToken);
}
