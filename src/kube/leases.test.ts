import { describe, expect, it } from "vitest";
import { MemoryLeases } from "../testing/memory-leases.ts";
import { compareAndSwap, writeTokenKey } from "./leases.ts";

const bump = (current: import("@kubernetes/client-node").V1Lease | undefined) => ({
  metadata: { annotations: { n: String(Number(current?.metadata?.annotations?.n ?? 0) + 1) } },
});

describe("compareAndSwap", () => {
  it("creates an absent Lease and replaces a present one with its resourceVersion", async () => {
    const store = new MemoryLeases();
    await compareAndSwap(store, "c", bump);
    const second = await compareAndSwap(store, "c", bump);
    expect(second?.metadata?.annotations?.n).toBe("2");
    expect(store.writes).toBe(2);
  });

  it("reads again and recomputes after a 409", async () => {
    const store = new MemoryLeases();
    await compareAndSwap(store, "c", bump);
    store.failures.push("conflict", "conflict");
    let conflicts = 0;
    const result = await compareAndSwap(store, "c", bump, { onConflict: () => conflicts++ });
    expect(result?.metadata?.annotations?.n).toBe("2");
    expect(conflicts).toBe(2);
  });

  it("after an ambiguous failure, reads back and keeps a write that was committed (no double write)", async () => {
    const store = new MemoryLeases();
    await compareAndSwap(store, "c", bump);
    store.failures.push("committed-then-timeout");
    const result = await compareAndSwap(store, "c", bump);
    expect(result?.metadata?.annotations?.n).toBe("2");
    expect(store.writes).toBe(2);
    expect((await store.get("c"))?.metadata?.annotations?.[writeTokenKey]).toBe(
      result?.metadata?.annotations?.[writeTokenKey],
    );
  });

  it("after an ambiguous failure that lost the write, writes again", async () => {
    const store = new MemoryLeases();
    await compareAndSwap(store, "c", bump);
    store.failures.push("lost");
    const result = await compareAndSwap(store, "c", bump);
    expect(result?.metadata?.annotations?.n).toBe("2");
    expect(store.writes).toBe(2);
  });

  it("uses a hint to skip the read, and falls back to a read when the hint is stale", async () => {
    const store = new MemoryLeases();
    const first = await compareAndSwap(store, "c", bump);
    const readsBefore = store.reads;
    const second = await compareAndSwap(store, "c", bump, { hint: first });
    expect(store.reads).toBe(readsBefore);
    const third = await compareAndSwap(store, "c", bump, { hint: first });
    expect(store.reads).toBe(readsBefore + 1);
    expect(second?.metadata?.annotations?.n).toBe("2");
    expect(third?.metadata?.annotations?.n).toBe("3");
  });

  it("stops when aborted", async () => {
    const store = new MemoryLeases();
    const controller = new AbortController();
    controller.abort(new Error("deadline"));
    await expect(compareAndSwap(store, "c", bump, { signal: controller.signal })).rejects.toThrow("deadline");
  });

  it("writes nothing when the change says so", async () => {
    const store = new MemoryLeases();
    expect(await compareAndSwap(store, "c", () => undefined)).toBeUndefined();
    expect(store.writes).toBe(0);
  });
});
