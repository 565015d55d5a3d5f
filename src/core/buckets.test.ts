import { describe, expect, it } from "vitest";
import { bucketIndexOf, bucketIndexOfValue, bucketOf, bucketValues, queueNamespaceOf } from "./buckets.ts";

describe("buckets", () => {
  it("puts a namespace in one bucket, the same in every process, and spreads namespaces over all", () => {
    expect(bucketOf("team-a", 16)).toBe(bucketOf("team-a", 16));
    expect(bucketOf("anything", 1)).toBe("0-of-1");
    const seen = new Map<number, number>();
    for (let i = 0; i < 1600; i++) {
      const index = bucketIndexOf(`ns-${i}`, 16);
      seen.set(index, (seen.get(index) ?? 0) + 1);
    }
    expect(seen.size).toBe(16);
    // 100 expected per bucket; a fair hash keeps every bucket within ±40 %.
    for (const n of seen.values()) expect(n).toBeGreaterThan(60);
    for (const n of seen.values()) expect(n).toBeLessThan(140);
  });

  it.each<[string, string | undefined, number, number | undefined]>([
    ["a value of this count", "3-of-16", 16, 3],
    ["the last bucket", "15-of-16", 16, 15],
    ["a value of another count", "3-of-8", 16, undefined],
    ["an index past the count", "16-of-16", 16, undefined],
    ["no label", undefined, 16, undefined],
    ["something else", "seven", 16, undefined],
  ])("reads %s", (_what, value, count, expected) => {
    expect(bucketIndexOfValue(value, count)).toBe(expected);
  });

  it("lists every value of a count", () => {
    expect(bucketValues(3)).toEqual(["0-of-3", "1-of-3", "2-of-3"]);
    expect(bucketValues(0)).toEqual(["0-of-1"]);
  });

  it.each<[string, string | undefined]>([
    ["pac/team-a/repo", "team-a"],
    ["team-a/deploy", undefined],
    ["rule/pac/victim/repo", undefined],
    ["pac/", undefined],
  ])("binds queue %s to namespace %s", (key, namespace) => {
    expect(queueNamespaceOf(key)).toBe(namespace);
  });
});
