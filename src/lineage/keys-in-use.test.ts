import { describe, expect, it } from "vitest";
import type { ObjectMeta } from "../core/tekton.ts";
import { labelKeys, signatureKey } from "../core/vocabulary.ts";
import { testKey } from "../testing/keys.ts";
import { MemoryCache } from "../testing/memory-cache.ts";
import { pipelineRun } from "../testing/runs.ts";
import { signClaims } from "./claims.ts";
import { genuineRuns } from "./genuine-runs.ts";
import { keysInUseCached, keysInUseListed, keysSigning } from "./keys-in-use.ts";

const current = testKey("c");
const retired = testKey("r");
const unknown = testKey("u");
const secretKeys = [current, retired];

/** A run's metadata as the webhook signs it, with `key`. */
function signed(name: string, key = retired): ObjectMeta {
  const meta = { namespace: "team-a", name, labels: { [labelKeys.lineageId]: "line" }, annotations: {} };
  return { ...meta, annotations: { [signatureKey]: signClaims(key, meta) } };
}

/** A signature for another run's name: it names the key, but does not verify for this run. */
function copied(name: string, key = retired): ObjectMeta {
  return { ...signed("someone-else", key), name };
}

describe("keysSigning", () => {
  it.each([
    ["a run signed with a retired key keeps it", [signed("a")], [retired.id]],
    ["runs signed with either key", [signed("a", current), signed("b")], [current.id, retired.id]],
    ["a copied signature naming a retired key does not keep it", [copied("a")], []],
    ["a signature by a key the Secret does not hold does not count", [signed("a", unknown)], []],
    ["a run with no signature", [{ namespace: "team-a", name: "a" }], []],
  ])("%s", (_name, metas, ids) => {
    expect([...keysSigning(metas as ObjectMeta[], secretKeys)].sort()).toEqual([...ids].sort());
  });
});

describe("keysInUseCached", () => {
  const ring = { current: () => current, all: () => secretKeys };
  const run = (meta: ObjectMeta) => pipelineRun({ ...meta, name: meta.name ?? "" });

  it("says nothing until the cache is synced, then the keys of its genuine runs", async () => {
    const cache = new MemoryCache([run(signed("a")), run(copied("b", current))]);
    cache.synced = false;
    const keysInUse = keysInUseCached({ cache, genuine: genuineRuns(cache, ring) });
    expect(await keysInUse(secretKeys)).toBeUndefined();
    cache.synced = true;
    expect([...((await keysInUse(secretKeys)) ?? [])]).toEqual([retired.id]);
  });
});

describe("keysInUseListed", () => {
  /** A listing that serves these pages and remembers each selector it was asked with. */
  function listing(pages: ObjectMeta[][]) {
    const asked: string[] = [];
    return {
      asked,
      list: async function* (selector: string) {
        asked.push(selector);
        yield* pages;
      },
    };
  }

  it("gathers the keys over every page, selecting runs by tekton-lineage's lineage label", async () => {
    const { asked, list } = listing([[signed("a", current)], [copied("b")], [signed("c")]]);
    const keysInUse = keysInUseListed({ list, minIntervalMs: 60_000 });
    expect([...((await keysInUse(secretKeys)) ?? [])].sort()).toEqual([current.id, retired.id].sort());
    expect(asked).toEqual([labelKeys.lineageId]);
  });

  it("lists at most once per interval: between two, it says nothing and lists nothing", async () => {
    let now = 1_000_000;
    const { asked, list } = listing([[copied("a")]]);
    const keysInUse = keysInUseListed({ list, minIntervalMs: 60_000, now: () => now });
    expect(await keysInUse(secretKeys)).toEqual(new Set());
    now += 59_999;
    expect(await keysInUse(secretKeys)).toBeUndefined();
    now += 1;
    expect(await keysInUse(secretKeys)).toEqual(new Set());
    expect(asked).toHaveLength(2);
  });

  it("a listing that fails says nothing (the error reaches the collector) and waits its interval too", async () => {
    let now = 0;
    let calls = 0;
    const keysInUse = keysInUseListed({
      // biome-ignore lint/correctness/useYield: a listing whose first page fails
      list: async function* () {
        calls += 1;
        throw new Error("410 Gone: the continue token expired");
      },
      minIntervalMs: 60_000,
      now: () => now,
    });
    await expect(keysInUse(secretKeys)).rejects.toThrow("410");
    now += 1_000;
    expect(await keysInUse(secretKeys)).toBeUndefined();
    expect(calls).toBe(1);
  });
});
