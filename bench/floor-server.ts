/**
 * The floor: an HTTPS server on the same certificate that does the one thing a correct /mutate cannot
 * avoid — one compare-and-swap write to the API server per review, or per batch of concurrent reviews
 * of one lineage (a Lease per lineage, the counter bumped), with the same Lease client, group commit and
 * compare-and-swap as tekton-lineage — and answers "allowed". No claims, no naming, no queue, no
 * patch. Prints {"port":N} once listening.

 *
 *   node bench/floor-server.ts <tls.crt> <tls.key> <kubeconfig> <namespace>
 */
import { loadKubeConfig } from "../src/kube/kubeconfig.ts";
import { LeaseBatcher } from "../src/kube/lease-batcher.ts";
import { HttpLeaseStore } from "../src/kube/lease-http.ts";
import { serveReviews } from "./lib/review-server.ts";

const [cert, key, kubeconfig, namespace] = process.argv.slice(2);
// Group commit as tekton-lineage does it (concurrent reviews of one lineage share one write), so the
// floor measures the API server's part, not a storm of conflicting writes; no shedding.
const counters = new LeaseBatcher<null, number>({
  store: new HttpLeaseStore(loadKubeConfig(kubeconfig), namespace ?? "default"),
  plan(current, requests, name) {
    const last = Number(current?.metadata?.annotations?.["floor/last"] ?? 0);
    return {
      lease: {
        metadata: {
          ...current?.metadata,
          name,
          annotations: { ...current?.metadata?.annotations, "floor/last": String(last + requests.length) },
        },
        spec: current?.spec ?? {},
      },
      results: requests.map((_, i) => last + i + 1),
    };
  },
});
const bump = (name: string) => counters.submit(name, null, AbortSignal.timeout(10_000));

serveReviews(cert ?? "", key ?? "", async (review) => {
  const sha = review.request.object?.metadata?.annotations?.["pipelinesascode.tekton.dev/sha"] ?? "x";
  await bump(`floor-${sha.slice(0, 8)}`);
  return true;
});
