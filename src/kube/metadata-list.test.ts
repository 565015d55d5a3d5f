import { afterEach, describe, expect, it } from "vitest";
import { kubeConfigFor, serve, type TestServer } from "../testing/http.ts";
import { KubeHttp } from "./kube-http.ts";
import { type ListedMeta, listMetadata } from "./metadata-list.ts";

let server: TestServer | undefined;
let http: KubeHttp | undefined;
afterEach(async () => {
  http?.close();
  await server?.close();
  server = undefined;
});

/** A stand-in API server with `items` in pages; a continue token in `expired` answers 410 Gone. */
async function apiServer(items: ListedMeta[], expired: string[] = []) {
  const asked: { query: URLSearchParams; accept: string }[] = [];
  server = await serve((req, res) => {
    const url = new URL(req.url ?? "", "http://x");
    asked.push({ query: url.searchParams, accept: String(req.headers.accept) });
    const token = url.searchParams.get("continue") ?? "";
    if (expired.includes(token)) {
      res.writeHead(410, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ kind: "Status", code: 410, message: "The provided continue parameter is too old" }),
      );
      return;
    }
    const from = Number(token || "0");
    const limit = Number(url.searchParams.get("limit"));
    const next = from + limit < items.length ? String(from + limit) : "";
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        kind: "PartialObjectMetadataList",
        metadata: { resourceVersion: "7", ...(next ? { continue: next } : {}) },
        items: items
          .slice(from, from + limit)
          .map((metadata) => ({ kind: "PartialObjectMetadata", metadata })),
      }),
    );
  });
  http = new KubeHttp(kubeConfigFor(server.url));
  return asked;
}

const metas = (n: number): ListedMeta[] =>
  Array.from({ length: n }, (_, i) => ({ namespace: "ns", name: `run-${i}`, labels: { l: "v" } }));

async function collect(pages: AsyncIterable<ListedMeta[]>): Promise<ListedMeta[][]> {
  const out: ListedMeta[][] = [];
  for await (const page of pages) out.push(page);
  return out;
}

describe("listMetadata", () => {
  it.each([
    ["an empty collection", 0, [0]],
    ["one page", 3, [3]],
    ["pages followed by their continue tokens", 7, [3, 3, 1]],
  ])("%s", async (_name, count, sizes) => {
    const asked = await apiServer(metas(count));
    const pages = await collect(
      listMetadata(http as KubeHttp, "/apis/tekton.dev/v1/pipelineruns", { labelSelector: "l", pageSize: 3 }),
    );
    expect(pages.map((p) => p.length)).toEqual(sizes);
    expect(pages.flat()).toEqual(metas(count));
    expect(asked.map((a) => a.query.get("continue") ?? "")).toEqual(
      sizes.map((_, i) => (i === 0 ? "" : String(3 * i))),
    );
    for (const { query, accept } of asked) {
      expect(query.get("labelSelector")).toBe("l");
      expect(query.get("limit")).toBe("3");
      // Metadata only, as client-go's metadata client asks; full objects from a server that cannot.
      expect(accept).toBe(
        "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
      );
    }
  });

  it("fails the whole listing when a continue token expired (410), after the pages it had", async () => {
    await apiServer(metas(7), ["3"]);
    const seen: ListedMeta[][] = [];
    const listing = (async () => {
      for await (const page of listMetadata(http as KubeHttp, "/apis/tekton.dev/v1/pipelineruns", {
        labelSelector: "l",
        pageSize: 3,
      }))
        seen.push(page);
    })();
    await expect(listing).rejects.toMatchObject({ code: 410 });
    expect(seen.map((p) => p.length)).toEqual([3]);
  });
});
