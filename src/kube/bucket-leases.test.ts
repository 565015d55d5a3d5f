import type { V1Lease } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../observability/logger.ts";
import { MemoryLeases } from "../testing/memory-leases.ts";
import { BucketLeases, bucketCountKey } from "./bucket-leases.ts";
import type { LeaseAccess } from "./leases.ts";

interface Replica {
  leases: BucketLeases;
  held: ReadonlySet<number>;
  drains: number;
  /** Cut off from the API server: every call fails, as for a replica killed or partitioned away. */
  cut: boolean;
}

/** The shared store as one replica reaches it: every call fails while the replica is cut off. */
function reach(store: MemoryLeases, replica: Pick<Replica, "cut">): LeaseAccess {
  const guard = async <T>(call: () => Promise<T>): Promise<T> => {
    await new Promise((r) => setTimeout(r, 0));
    if (replica.cut) throw new Error("connection refused");
    return call();
  };
  return {
    namespace: store.namespace,
    get: (name: string) => guard(() => store.get(name)),
    create: (lease: V1Lease) => guard(() => store.create(lease)),
    replace: (lease: V1Lease) => guard(() => store.replace(lease)),
    deleteIfUnchanged: (name: string, version: string) => guard(() => store.deleteIfUnchanged(name, version)),
    list: (selector: string) => guard(() => store.list(selector)),
  };
}

/** Replicas sharing one Lease store and one fake clock. */
function cluster(count = 16) {
  const store = new MemoryLeases();
  const clock = { t: 0 };
  const replicas = new Map<string, Replica>();
  const join = (
    identity: string,
    options: { count?: number; leader?: () => string | undefined; prefix?: string } = {},
  ) => {
    const replica = { held: new Set<number>(), drains: 0, cut: false } as unknown as Replica;
    replica.leases = new BucketLeases({
      store: reach(store, replica),
      prefix: options.prefix ?? "tl",
      identity,
      count: options.count ?? count,
      memberLabel: ["kind", "member"],
      leaseDurationMs: 1000,
      renewDeadlineMs: 700,
      retryPeriodMs: 50,
      logger: silentLogger(),
      now: () => clock.t,
      onChange: (held) => {
        replica.held = held;
      },
      drain: async () => {
        replica.drains += 1;
      },
      leaderHolder: options.leader,
    });
    replicas.set(identity, replica);
    replica.leases.start();
    return replica;
  };
  return { store, clock, replicas, join };
}

let running: ReturnType<typeof cluster>[] = [];
const newCluster = (count?: number) => {
  const c = cluster(count);
  running.push(c);
  return c;
};

/** Runs fake time on, 10 ms at a time, until `check` holds; fails after 60 s of fake time. */
async function until(clock: { t: number }, check: () => boolean, each?: () => void): Promise<void> {
  for (let waited = 0; !check(); waited += 10) {
    if (waited > 60_000) throw new Error("condition not reached within 60 s of fake time");
    clock.t += 10;
    await vi.advanceTimersByTimeAsync(10);
    each?.();
  }
}

/** Runs fake time on for `ms`. */
async function pass(clock: { t: number }, ms: number): Promise<void> {
  for (let waited = 0; waited < ms; waited += 10) {
    clock.t += 10;
    await vi.advanceTimersByTimeAsync(10);
  }
}

const owners = (replicas: Iterable<Replica>) => [...replicas].flatMap((r) => [...r.held]);
const everyBucketOnce = (replicas: Iterable<Replica>, count = 16) => {
  const held = owners(replicas).sort((a, b) => a - b);
  return held.length === count && held.every((b, i) => b === i);
};

describe("BucketLeases", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] }));
  afterEach(async () => {
    for (const c of running) for (const r of c.replicas.values()) r.cut = true;
    running = [];
    vi.useRealTimers();
  });

  it.each<[string, number[]]>([
    ["started together", [0, 0, 0]],
    ["started within a lease duration of each other", [0, 300, 900]],
  ])(
    "shares every bucket between replicas %s, each held once, none ever past its share",
    async (_what, starts) => {
      const { clock, replicas, join } = newCluster();
      let most = 0;
      const watch = () => {
        for (const replica of replicas.values()) most = Math.max(most, replica.held.size);
      };
      for (const [i, at] of starts.entries()) {
        await until(clock, () => clock.t >= at, watch);
        join(["a", "b", "c"][i] as string);
      }
      await until(clock, () => everyBucketOnce(replicas.values()), watch);
      // ceil(16 / 3): no replica ever held (and so listed) more than its share, not even the first up.
      expect(most).toBeLessThanOrEqual(6);
      for (const replica of replicas.values()) expect(replica.held.size).toBeGreaterThan(0);
    },
  );

  it("alone, takes every bucket after one lease duration, a dead member's stale Lease notwithstanding", async () => {
    const { clock, store, join } = newCluster();
    // A member killed earlier: its Lease stays, never renewed again.
    const created = store.create({
      metadata: {
        name: "tl-member-dead",
        labels: { kind: "member" },
        annotations: { [bucketCountKey]: "16" },
      },
      spec: { holderIdentity: "dead", leaseDurationSeconds: 1 },
    });
    await vi.advanceTimersByTimeAsync(0);
    await created;
    const a = join("a");
    await pass(clock, 900);
    expect(a.held.size).toBe(0);
    await until(clock, () => a.held.size === 16);
    expect(clock.t).toBeLessThan(1500);
  });

  it("hands a dead replica's buckets to the others once its Leases expire, never one bucket to two", async () => {
    const { clock, replicas, join } = newCluster();
    for (const id of ["a", "b", "c"]) join(id);
    await until(clock, () => everyBucketOnce(replicas.values()));
    const dead = replicas.get("c") as Replica;
    dead.cut = true;
    const cutAt = clock.t;
    const survivors = [replicas.get("a"), replicas.get("b")] as Replica[];
    const twice: number[] = [];
    await until(clock, () => dead.held.size === 0);
    await until(
      clock,
      () => dead.held.size === 0 && everyBucketOnce(survivors),
      () => {
        const all = owners(replicas.values());
        for (const bucket of new Set(all)) if (all.filter((b) => b === bucket).length > 1) twice.push(bucket);
      },
    );
    expect(twice).toEqual([]);
    // About one lease duration (1 s): its member and its bucket Leases went silent together, and the
    // survivors had watched both, so a bucket is taken as soon as its holder is judged gone.
    expect(clock.t - cutAt).toBeLessThan(1700);
  });

  it("gives buckets up in order to a replica that joins: work drained, then the Lease released", async () => {
    const { clock, replicas, join } = newCluster();
    const a = join("a");
    await until(clock, () => a.held.size === 16);
    const b = join("b");
    const twice: number[] = [];
    await until(
      clock,
      () => everyBucketOnce(replicas.values()) && b.held.size === 8,
      () => twice.push(...[...a.held].filter((bucket) => b.held.has(bucket))),
    );
    expect(twice).toEqual([]);
    expect(a.held.size).toBe(8);
    expect({ drains: a.drains }).toEqual({ drains: 8 });
  });

  it("acts on no bucket while a live replica runs another bucket count", async () => {
    const { clock, store, join } = newCluster();
    const a = join("a");
    join("b", { count: 8 });
    await pass(clock, 3000);
    expect(a.held.size).toBe(0);
    const members = [...store.leases.values()].filter((l) => l.metadata?.labels?.kind === "member");
    expect(members.map((m) => m.metadata?.annotations?.[bucketCountKey]).sort()).toEqual(["16", "8"]);
  });

  it("counts only the members of its own election", async () => {
    const { clock, join } = newCluster();
    const mine = [join("a"), join("b")];
    // Another install's replica (another --leader-election-id) in the same namespace, renewing.
    join("x", { prefix: "other" });
    await until(clock, () => everyBucketOnce(mine) && mine.every((r) => r.held.size === 8));
  });

  it("acts on no bucket beside a leader of a release without buckets", async () => {
    const { clock, join } = newCluster();
    const c = join("c", { leader: () => "replica-of-v0.1.0" });
    await pass(clock, 3000);
    expect(c.held.size).toBe(0);
  });

  it("leaves the members on stop, releasing its buckets", async () => {
    const { clock, store, join } = newCluster(4);
    const a = join("a");
    await until(clock, () => a.held.size === 4);
    let stopped = false;
    const stopping = a.leases.stop().then(() => {
      stopped = true;
    });
    await until(clock, () => stopped);
    await stopping;
    expect(a.held.size).toBe(0);
    expect([...store.leases.keys()].filter((name) => name.includes("member"))).toEqual([]);
    expect(store.leases.get("tl-bucket-0-of-4")?.spec?.holderIdentity).toBe("");
  });
});
