import { randomBytes } from "node:crypto";
import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pipelineRunResource } from "../../src/core/tekton.ts";
import { labelKeys, signatureKey } from "../../src/core/vocabulary.ts";
import { resourcePath } from "../../src/kube/custom-objects.ts";
import { KubeHttp } from "../../src/kube/kube-http.ts";
import { listMetadata, metadataOnly } from "../../src/kube/metadata-list.ts";
import { dropUnusedKeys, keysOf } from "../../src/kube/signing-keys.ts";
import { signClaims } from "../../src/lineage/claims.ts";
import { keysInUseListed } from "../../src/lineage/keys-in-use.ts";
import { testKey } from "../../src/testing/keys.ts";
import { adminKubeConfig } from "./support/context.ts";
import { newPipelineRun, pipelineRuns } from "./support/pipelineruns.ts";
import { createSuite } from "./support/suite.ts";

/**
 * Retired signing keys are dropped by a replica that caches only its buckets' runs (issue #24): it
 * learns which keys live runs were signed with from a paged, metadata-only listing of every admitted
 * run (PartialObjectMetadataList), verified with the Secret's keys, and drops the others from the
 * Secret by compare-and-swap. Against the real API server: the listing crosses pages, a copied
 * signature naming a retired key does not keep it, and a key goes once its last run is gone.
 */
const suite = createSuite("keys");
const admin = adminKubeConfig();
const runs = pipelineRuns(admin);
const secrets = admin.makeApiClient(CoreV1Api);
const http = new KubeHttp(admin);
const secretName = `tl-keys-${randomBytes(3).toString("hex")}`;
let namespace: string;

const key = (char: string) => {
  const entry = testKey(char);
  return { ...entry, base64: entry.key.toString("base64") };
};
const current = key("n");
const retiredInUse = key("a");
const retiredCopied = key("b");
const retiredRecently = key("c");
const longAgo = new Date(Date.now() - 3_600_000).toISOString();

/** A run in the suite's namespace whose claims were signed for `signedFor` (its own name unless copied). */
async function createRun(name: string, signer: { id: string; key: Buffer }, signedFor = name) {
  const labels = { [labelKeys.lineageId]: "keysline" };
  const signature = signClaims(signer, { namespace, name: signedFor, labels, annotations: {} });
  await runs.create(newPipelineRun({ namespace, name, labels, annotations: { [signatureKey]: signature } }));
}

const keysInUse = () =>
  keysInUseListed({
    // Pages of two: the runs of the suite alone span several.
    list: (labelSelector) =>
      listMetadata(http, resourcePath(pipelineRunResource, ""), { labelSelector, pageSize: 2 }),
    minIntervalMs: 0,
  });
const keyIds = async () =>
  keysOf(await secrets.readNamespacedSecret({ name: secretName, namespace: "tekton-lineage" })).map(
    (k) => k.id,
  );

beforeAll(async () => {
  namespace = await suite.namespace("runs");
  await secrets.createNamespacedSecret({
    namespace: "tekton-lineage",
    body: {
      metadata: {
        name: secretName,
        annotations: {
          [`tekton-lineage.io/retired-at-${retiredInUse.id}`]: longAgo,
          [`tekton-lineage.io/retired-at-${retiredCopied.id}`]: longAgo,
          [`tekton-lineage.io/retired-at-${retiredRecently.id}`]: new Date().toISOString(),
        },
      },
      data: {
        "hmac-key": current.base64,
        [`retired-${retiredInUse.id}`]: retiredInUse.base64,
        [`retired-${retiredCopied.id}`]: retiredCopied.base64,
        [`retired-${retiredRecently.id}`]: retiredRecently.base64,
      },
    },
  });
  for (let i = 0; i < 4; i++) await createRun(`current-${i}`, current);
  await createRun("old", retiredInUse);
  await createRun("copy", retiredCopied, "someone-else");
});

afterAll(async () => {
  http.close();
  await secrets
    .deleteNamespacedSecret({ name: secretName, namespace: "tekton-lineage" })
    .catch(() => undefined);
  await suite.cleanup();
});

describe("retired signing keys, listed rather than cached", () => {
  it("lists metadata only: the API server answers a PartialObjectMetadataList", async () => {
    const path = `${resourcePath(pipelineRunResource, namespace)}?limit=1`;
    const page = (await http.call("GET", path, undefined, metadataOnly)) as {
      kind?: string;
      items: { spec?: unknown; metadata: { name?: string } }[];
    };
    expect(page.kind).toBe("PartialObjectMetadataList");
    expect(page.items[0]?.metadata.name).toBeTruthy();
    expect(page.items[0]?.spec).toBeUndefined();
  });

  it("keeps the keys live runs were signed with and those retired too recently, drops the rest", async () => {
    const dropped = await dropUnusedKeys(admin, "tekton-lineage", secretName, keysInUse(), 60_000);
    expect(dropped).toEqual([retiredCopied.id]);
    expect(await keyIds()).toEqual([current.id, retiredInUse.id, retiredRecently.id]);
  });

  it("drops a key once the last run signed with it is gone", async () => {
    await runs.delete(namespace, "old");
    // The delete is done when the API server answers it (no finalizers here): the listing sees it gone.
    const dropped = await dropUnusedKeys(admin, "tekton-lineage", secretName, keysInUse(), 60_000);
    expect(dropped).toEqual([retiredInUse.id]);
    expect(await keyIds()).toEqual([current.id, retiredRecently.id]);
  });
});
