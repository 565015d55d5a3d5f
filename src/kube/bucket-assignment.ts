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
