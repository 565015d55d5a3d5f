import { createHash } from "node:crypto";

/**
 * Which buckets each member should hold: every member at most ceil(count / members), each bucket to the
 * member that ranks it highest (rendezvous hashing) among those with room. Every replica computes it
 * from the same member list and gets the same answer; a member joining or leaving moves few buckets
 * besides its own share. It decides only who competes for a bucket: the bucket's Lease decides who acts.
 */
export function assignBuckets(count: number, members: readonly string[]): Map<string, number[]> {
  const sorted = [...new Set(members)].sort();
  const assigned = new Map<string, number[]>(sorted.map((member) => [member, []]));
  if (sorted.length === 0) return assigned;
  const room = Math.ceil(count / sorted.length);
  for (let bucket = 0; bucket < count; bucket++) {
    const ranked = sorted
      .map((member) => ({ member, rank: rankOf(bucket, member) }))
      .sort((a, b) => b.rank - a.rank || (a.member < b.member ? -1 : 1));
    const chosen = ranked.find(({ member }) => (assigned.get(member)?.length ?? 0) < room);
    if (chosen) assigned.get(chosen.member)?.push(bucket);
  }
  return assigned;
}

function rankOf(bucket: number, member: string): number {
  return createHash("sha256").update(`${bucket}/${member}`).digest().readUInt32BE(0);
}

/** A member as one replica judges it. */
export interface Candidate {
  identity: string;
  /**
   * Seen alive for a lease duration (this replica itself: up for one). Until then a member is given its
   * share in the assignment, so nobody takes that share from it, but nobody hands it over either.
   */
  settled: boolean;
}

/**
 * The buckets one replica competes for. Every candidate — settled or not, possibly a dead member whose
 * Lease was seen only once — counts in the assignment, so a replica never takes more than its share of
 * those it can see: the first of three started together waits one lease duration, seeing the others,
 * instead of taking all sixteen buckets and listing every run. A bucket already held (or whose Lease
 * names this replica, restarted under its name) is kept until its assigned member has settled, so a
 * joining replica gets buckets only once it stays, and in order.
 */
export function bucketsToCompeteFor(
  count: number,
  self: string,
  candidates: readonly Candidate[],
  held: ReadonlySet<number>,
): number[] {
  const settled = new Map(candidates.map((c) => [c.identity, c.settled]));
  if (!settled.has(self)) return [];
  const owners = new Map<number, string>();
  for (const [member, buckets] of assignBuckets(count, [...settled.keys()])) {
    for (const bucket of buckets) owners.set(bucket, member);
  }
  const chosen: number[] = [];
  for (let bucket = 0; bucket < count; bucket++) {
    const owner = owners.get(bucket) ?? self;
    const compete =
      owner === self ? settled.get(self) || held.has(bucket) : held.has(bucket) && !settled.get(owner);
    if (compete) chosen.push(bucket);
  }
  return chosen;
}
