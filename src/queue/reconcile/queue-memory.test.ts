import { describe, expect, it } from "vitest";
import { QueueMemory } from "./queue-memory.ts";

describe("QueueMemory", () => {
  it("remembers runs seen until they are done, settled, or deleted for twice the TTL", () => {
    const clock = { now: 0 };
    const memory = new QueueMemory(1000, () => clock.now);
    memory.observe("q", "ns", "a", "exists");
    memory.observe("q", "ns", "b", "exists");
    memory.observe("q", "ns", "c", "exists");
    memory.observe("q", "ns", "a", "done");
    memory.update("q", new Map(), ["ns/b"]);
    expect([...memory.seen("q")]).toEqual(["ns/c"]);
    memory.observe("q", "ns", "c", "deleted");
    clock.now += 1500;
    memory.observe("q", "ns", "d", "exists");
    expect([...memory.seen("q")].sort()).toEqual(["ns/c", "ns/d"]); // deleted, still within 2 × TTL
    clock.now += 1000;
    memory.observe("q", "ns", "d", "exists");
    expect([...memory.seen("q")]).toEqual(["ns/d"]);
    expect(memory.size).toBe(1);
  });

  it("stays bounded on a follower that never reconciles: a million runs that come and go leave nothing", () => {
    const clock = { now: 0 };
    const memory = new QueueMemory(1000, () => clock.now);
    for (let i = 0; i < 1_000_000; i++) {
      memory.observe(`q${i % 50}`, "ns", `run-${i}`, "exists");
      memory.observe(`q${i % 50}`, "ns", `run-${i}`, i % 2 === 0 ? "done" : "deleted");
      clock.now += 1;
    }
    expect(memory.size).toBeLessThan(2000 + 50);
  });
});
