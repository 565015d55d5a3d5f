import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createLeaseConflictCounter } from "../kube/lease-metrics.ts";
import { silentLogger } from "../observability/logger.ts";
import { MemoryLeases } from "../testing/memory-leases.ts";
import { AttemptAllocator, attemptLeaseName, createAttemptMetrics, readRecord } from "./attempts.ts";
import { lineageOf } from "./lineage.ts";
import { attemptName } from "./names.ts";
import { LineageBudgetError, NewLineageBudget } from "./new-lineage-budget.ts";

const lineage = lineageOf(
  { namespace: "ci", generateName: "build-", labels: {}, annotations: {} },
  { labels: [] },
);
const nameFor = (n: number) => attemptName(lineage.base, lineage.id, n);
const signal = () => new AbortController().signal;

function allocator(store: MemoryLeases, instance: string, newLineages?: NewLineageBudget) {
  const registry = new Registry();
  return new AttemptAllocator({
    store,
    instance,
    metrics: createAttemptMetrics(registry, createLeaseConflictCounter(registry)),
    logger: silentLogger(),
    newLineages,
  });
}

describe("AttemptAllocator", () => {
  it("starts new lineages only within the budget; lineages that exist go on numbering, dry runs take nothing", async () => {
    const store = new MemoryLeases();
    const budget = new NewLineageBudget({ perNamespacePerMinute: 1, perMinute: 100, clock: () => 0 });
    const a = allocator(store, "a", budget);
    const other = lineageOf(
      { namespace: "ci", generateName: "test-", labels: {}, annotations: {} },
      { labels: [] },
    );
    const otherName = (n: number) => attemptName(other.base, other.id, n);
    expect((await a.preview(lineage, nameFor)).attempt).toBe(1);
    expect((await a.allocate(lineage, nameFor, signal())).attempt).toBe(1);
    const refused = a.allocate(other, otherName, signal());
    await expect(refused).rejects.toBeInstanceOf(LineageBudgetError);
    await expect(refused).rejects.toThrow(/namespace ci is over its budget/);
    expect(store.leases.has(attemptLeaseName(other.id))).toBe(false);
    expect((await a.allocate(lineage, nameFor, signal())).attempt).toBe(2);
  });

  it("numbers attempts 1, 2, ... and records the last name in the Lease", async () => {
    const store = new MemoryLeases();
    const a = allocator(store, "a");
    expect(await a.allocate(lineage, nameFor, signal())).toEqual({ attempt: 1, name: nameFor(1) });
    expect(await a.allocate(lineage, nameFor, signal())).toEqual({
      attempt: 2,
      name: nameFor(2),
      supersedes: nameFor(1),
    });
    expect(readRecord(store.leases.get(attemptLeaseName(lineage.id)))).toMatchObject({
      last: 2,
      lastName: nameFor(2),
      lineageKey: lineage.key,
      fallenBack: [],
    });
  });

  it("marks attempts whose admission fell back, keeping the last ten, and numbers on", async () => {
    const store = new MemoryLeases();
    const a = allocator(store, "a");
    for (let i = 1; i <= 12; i++) {
      await a.allocate(lineage, nameFor, signal());
      await a.markFallenBack(lineage.id, i);
    }
    await a.markFallenBack(lineage.id, 12); // twice: recorded once
    const record = readRecord(store.leases.get(attemptLeaseName(lineage.id)));
    expect(record.fallenBack).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect((await a.allocate(lineage, nameFor, signal())).attempt).toBe(13);
    expect(readRecord(store.leases.get(attemptLeaseName(lineage.id))).fallenBack).toHaveLength(10);
  });

  it("gives 200 concurrent requests on two replicas 200 distinct, consecutive attempts", async () => {
    const store = new MemoryLeases();
    store.latencyMs = 2;
    const replicas = [allocator(store, "a"), allocator(store, "b")];
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => replicas[i % 2]?.allocate(lineage, nameFor, signal())),
    );
    const attempts = results.map((r) => r?.attempt ?? 0).sort((x, y) => x - y);
    expect(attempts).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(new Set(results.map((r) => r?.name)).size).toBe(200);
    // Group commit: far fewer writes than allocations.
    expect(store.writes).toBeLessThan(60);
    // Each attempt supersedes exactly the attempt before it.
    for (const r of results) if (r && r.attempt > 1) expect(r.supersedes).toBe(nameFor(r.attempt - 1));
  });

  it("stays unique through conflicts and ambiguous failures", async () => {
    const store = new MemoryLeases();
    store.failures.push("conflict", "committed-then-timeout", "lost", "conflict");
    const a = allocator(store, "a");
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await a.allocate(lineage, nameFor, signal()));
    expect(results.map((r) => r.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("previews the next attempt without writing", async () => {
    const store = new MemoryLeases();
    const a = allocator(store, "a");
    await a.allocate(lineage, nameFor, signal());
    const writes = store.writes;
    expect(await a.preview(lineage, nameFor)).toEqual({
      attempt: 2,
      name: nameFor(2),
      supersedes: nameFor(1),
    });
    expect(store.writes).toBe(writes);
  });

  it("does not allocate for a request that gave up before its turn", async () => {
    const store = new MemoryLeases();
    const controller = new AbortController();
    controller.abort(new Error("deadline"));
    await expect(allocator(store, "a").allocate(lineage, nameFor, controller.signal)).rejects.toThrow(
      "deadline",
    );
    expect(store.writes).toBe(0);
  });
});
