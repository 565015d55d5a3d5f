import type { V1Lease } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { MemoryLeases } from "../testing/memory-leases.ts";
import { LeaseBatcher, ShedError } from "./lease-batcher.ts";

/** A store whose writes wait until released, to hold Leases "in flight". */
class HeldLeases extends MemoryLeases {
  private gate = Promise.withResolvers<void>();
  override async replace(lease: V1Lease) {
    await this.gate.promise;
    return super.replace(lease);
  }
  override async create(lease: V1Lease) {
    await this.gate.promise;
    return super.create(lease);
  }
  release() {
    this.gate.resolve();
  }
}

/** Counts requests per Lease in its holderIdentity, as a stand-in for the attempt counter. */
function counter(store: MemoryLeases, maxLeasesInFlight?: number) {
  return new LeaseBatcher<string, number>({ ...counterOptions(store), maxLeasesInFlight });
}

function counterOptions(store: MemoryLeases) {
  return {
    store,
    plan(current: V1Lease | undefined, requests: string[], leaseName: string) {
      const last = Number(current?.spec?.holderIdentity ?? 0);
      return {
        lease: {
          ...current,
          metadata: { ...current?.metadata, name: leaseName },
          spec: { holderIdentity: `${last + requests.length}` },
        },
        results: requests.map((_, i) => last + i + 1),
      };
    },
  };
}

const signal = () => new AbortController().signal;

describe("LeaseBatcher", () => {
  it("shares one write among concurrent requests for one Lease", async () => {
    const store = new MemoryLeases();
    const batcher = counter(store);
    const results = await Promise.all(Array.from({ length: 20 }, () => batcher.submit("a", "r", signal())));
    expect(results.sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(store.writes).toBeLessThanOrEqual(2);
  });

  it("refuses at once a request for yet another Lease when the limit of Leases in flight is reached", async () => {
    const store = new HeldLeases();
    const batcher = counter(store, 2);
    const a = batcher.submit("a", "r", signal());
    const b = batcher.submit("b", "r", signal());
    await expect(batcher.submit("c", "r", signal())).rejects.toBeInstanceOf(ShedError);
    expect(batcher.leasesInFlight).toBe(2);
    // A Lease already in flight still takes requests: they join its next write.
    const a2 = batcher.submit("a", "r", signal());
    store.release();
    expect(await Promise.all([a, b, a2])).toEqual([1, 1, 2]);
    expect(batcher.leasesInFlight).toBe(0);
    expect(await batcher.submit("c", "r", signal())).toBe(1);
  });

  it("refuses at once a request for a Lease whose line has waited too long for its write", async () => {
    const store = new HeldLeases();
    let now = 0;
    const batcher = new LeaseBatcher<string, number>({
      ...counterOptions(store),
      maxWaitMs: 1500,
      now: () => now,
    });
    const first = batcher.submit("a", "r", signal()); // being written (held)
    now = 100;
    const second = batcher.submit("a", "r", signal()); // waits for the next write
    now = 1599;
    const third = batcher.submit("a", "r", signal()); // the line is 1499 ms old: joins it
    now = 1600;
    await expect(batcher.submit("a", "r", signal())).rejects.toThrow(/waited 1500 ms for a write/);
    const other = batcher.submit("b", "r", signal()); // other Leases are not affected
    store.release();
    expect(await Promise.all([first, second, third, other])).toEqual([1, 2, 3, 1]);
  });

  it("has no limit unless one is set", async () => {
    const store = new HeldLeases();
    const batcher = counter(store);
    const all = Array.from({ length: 100 }, (_, i) => batcher.submit(`l${i}`, "r", signal()));
    expect(batcher.leasesInFlight).toBe(100);
    store.release();
    expect(new Set(await Promise.all(all))).toEqual(new Set([1]));
  });
});
