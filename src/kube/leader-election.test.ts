import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../observability/logger.ts";
import { MemoryLeases } from "../testing/memory-leases.ts";
import { LeaderElector } from "./leader-election.ts";

function elector(store: MemoryLeases, identity: string, clock: { t: number }, log: string[]) {
  return new LeaderElector({
    store,
    name: "leader",
    identity,
    logger: silentLogger(),
    retryPeriodMs: 5,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    now: () => clock.t,
    onStartedLeading: (epoch) => log.push(`${identity} leads (epoch ${epoch})`),
    onStoppedLeading: () => log.push(`${identity} stops`),
  });
}

/** One shared Lease store and clock, and the log of who led, for the candidates of one test. */
function election() {
  const store = new MemoryLeases();
  const clock = { t: 0 };
  const log: string[] = [];
  return { store, clock, log, candidate: (identity: string) => elector(store, identity, clock, log) };
}

/** Twenty retry periods of fake time: every candidate has competed many rounds, whatever the machine. */
const settle = () => vi.advanceTimersByTimeAsync(100);

/** Runs fake time on, a retry period at a time, until `check` holds (fails after 10 s of fake time). */
async function until(check: () => boolean): Promise<void> {
  for (let waited = 0; !check(); waited += 5) {
    if (waited > 10_000) throw new Error("condition not reached within 10 s of fake time");
    await vi.advanceTimersByTimeAsync(5);
  }
}

/** Runs fake time on until `promise` settles (a stop writes through the store, whose calls take fake time). */
async function settled<T>(promise: Promise<T>): Promise<T> {
  let done = false;
  const watched = promise.finally(() => {
    done = true;
  });
  while (!done) await vi.advanceTimersByTimeAsync(5);
  return watched;
}

describe("LeaderElector", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] }));
  afterEach(() => vi.useRealTimers());

  it("elects exactly one of several candidates", async () => {
    const { log, candidate } = election();
    const candidates = ["a", "b", "c"].map((id) => candidate(id));
    for (const c of candidates) c.start();
    await until(() => candidates.some((c) => c.isLeader));
    await settle();
    expect(candidates.filter((c) => c.isLeader)).toHaveLength(1);
    expect(log).toHaveLength(1);
    for (const c of candidates) await settled(c.stop());
  });

  it("lets another take over only after the lease went unrenewed for its duration, by its own clock", async () => {
    const { clock, log, candidate } = election();
    const a = candidate("a");
    a.start();
    await until(() => a.isLeader);
    // a dies without releasing (no stop): its timer is simply gone.
    void (a as unknown as { rounds: { stop(): Promise<void> } }).rounds.stop();
    await settle();
    const b = candidate("b");
    b.start();
    await settle();
    expect(b.isLeader).toBe(false);
    clock.t += 16_000;
    await until(() => b.isLeader);
    expect(log).toEqual(["a leads (epoch 1)", "b leads (epoch 2)"]);
    await settled(b.stop());
  });

  it("releases on stop so a successor takes over at once", async () => {
    const { clock, candidate } = election();
    const a = candidate("a");
    a.start();
    await until(() => a.isLeader);
    await settled(a.stop());
    const b = candidate("b");
    b.start();
    await settle();
    clock.t += 1_500; // the released Lease lasts one second
    await until(() => b.isLeader);
    await settled(b.stop());
  });

  it("steps down when it cannot renew within the renew deadline", async () => {
    const { store, clock, log, candidate } = election();
    const a = candidate("a");
    a.start();
    await until(() => a.isLeader);
    for (let i = 0; i < 1000; i++) store.failures.push("lost");
    clock.t += 11_000;
    await until(() => !a.isLeader);
    expect(log).toContain("a stops");
    store.failures.length = 0;
    await settled(a.stop());
  });

  it("steps down by its renew deadline while a renew write hangs, as client-go does", async () => {
    const store = new MemoryLeases();
    const log: string[] = [];
    const leader = new LeaderElector({
      store,
      name: "leader",
      identity: "a",
      logger: silentLogger(),
      retryPeriodMs: 20,
      leaseDurationMs: 1000,
      renewDeadlineMs: 200,
      onStartedLeading: () => log.push("a leads"),
      onStoppedLeading: () => log.push("a stops"),
    });
    leader.start();
    await until(() => leader.isLeader);
    store.latencyMs = 60_000; // the API server stops answering: every renew hangs
    const hungAt = performance.now();
    await until(() => !leader.isLeader);
    expect(performance.now() - hungAt).toBeLessThan(1000);
    expect(log).toEqual(["a leads", "a stops"]);
    store.latencyMs = 0;
    await settled(leader.stop());
  });
});
