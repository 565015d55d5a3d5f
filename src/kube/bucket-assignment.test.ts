import { describe, expect, it } from "vitest";
import { assignBuckets, bucketsToCompeteFor, type Candidate } from "./bucket-assignment.ts";

const sizes = (assignment: Map<string, number[]>) => [...assignment.values()].map((b) => b.length);
const all = (assignment: Map<string, number[]>) => [...assignment.values()].flat().sort((a, b) => a - b);

describe("assignBuckets", () => {
  it.each<[string, number, string[], number[]]>([
    ["one member holds everything", 16, ["a"], [16]],
    ["three members share 16 as 6/5/5 at most", 16, ["a", "b", "c"], [6, 6, 4]],
    ["more members than buckets leave some idle", 2, ["a", "b", "c"], [1, 1, 0]],
    ["no member, no bucket", 4, [], []],
  ])("%s", (_what, count, members, most) => {
    const assignment = assignBuckets(count, members);
    // Every bucket exactly once, nobody past ceil(count / members).
    expect(all(assignment)).toEqual(members.length ? Array.from({ length: count }, (_, i) => i) : []);
    const room = Math.ceil(count / Math.max(1, members.length));
    for (const size of sizes(assignment)) expect(size).toBeLessThanOrEqual(room);
    expect(Math.max(0, ...sizes(assignment))).toBeLessThanOrEqual(Math.max(0, ...most));
  });

  it("gives the same answer whatever order the members are listed in", () => {
    expect(assignBuckets(16, ["c", "a", "b"])).toEqual(assignBuckets(16, ["a", "b", "c"]));
  });

  it("moves few buckets when a member leaves: the survivors keep theirs", () => {
    const before = assignBuckets(16, ["a", "b", "c"]);
    const after = assignBuckets(16, ["a", "b"]);
    for (const member of ["a", "b"]) {
      const kept = (before.get(member) ?? []).filter((b) => after.get(member)?.includes(b));
      expect(kept.length).toBeGreaterThanOrEqual((before.get(member)?.length ?? 0) - 1);
    }
  });
});

describe("bucketsToCompeteFor", () => {
  const three = assignBuckets(16, ["a", "b", "c"]);
  const of = (member: string) => three.get(member) ?? [];
  const settled = (...ids: string[]): Candidate[] => ids.map((identity) => ({ identity, settled: true }));
  const joining = (...ids: string[]): Candidate[] => ids.map((identity) => ({ identity, settled: false }));
  const sorted = (buckets: number[]) => [...buckets].sort((x, y) => x - y);

  it.each<[string, Candidate[], number[], number[]]>([
    ["a settled member competes for its share", settled("a", "b", "c"), [], of("a")],
    ["and gives up what the others settled into", settled("a", "b", "c"), [...of("a"), ...of("b")], of("a")],
    ["not yet settled, it takes nothing, seeing others or not", joining("a", "b", "c"), [], []],
    ["alone and not yet settled, it takes nothing", joining("a"), [], []],
    ["alone and settled, it takes everything", settled("a"), [], Array.from({ length: 16 }, (_, i) => i)],
    [
      "it keeps what it holds of a joining member's share until that one settles",
      [...settled("a", "b"), ...joining("c")],
      [...of("a"), ...of("c")],
      [...of("a"), ...of("c")],
    ],
    [
      "but does not take a joining member's share it does not hold",
      [...settled("a", "b"), ...joining("c")],
      [],
      of("a"),
    ],
    ["not yet settled, it keeps its own share's buckets it holds", joining("a", "b", "c"), of("a"), of("a")],
    ["a replica not among the members competes for nothing", settled("b", "c"), of("b"), []],
  ])("%s", (_what, candidates, held, expected) => {
    expect(sorted(bucketsToCompeteFor(16, "a", candidates, new Set(held)))).toEqual(sorted(expected));
  });
});
