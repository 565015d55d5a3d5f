import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { PipelineRun } from "../../core/tekton.ts";
import { createLeaseConflictCounter } from "../../kube/lease-metrics.ts";
import { MemoryLeases } from "../../testing/memory-leases.ts";
import { pipelineRun } from "../../testing/runs.ts";
import { queueIdOf, queueLeaseName, readQueueState } from "../state.ts";
import { QueueAdmitter } from "./queue-admitter.ts";

const key = "pac/ns/repo";
const id = queueIdOf(key);
const choice = {
  queued: true as const,
  key,
  id,
  limit: 1,
  source: { kind: "repository" as const, namespace: "ns", name: "repo" },
  maxWaitMs: 0,
};
const signal = () => new AbortController().signal;

function run(name: string, ticket: number, waiting: boolean): PipelineRun {
  return pipelineRun({
    name,
    labels: { "tekton-lineage.io/queue-id": id },
    annotations: {
      "tekton-lineage.io/queue-ticket": String(ticket),
      "tekton-lineage.io/enqueued-at": "2026-11-22T10:00:00Z",
      ...(waiting
        ? { "tekton-lineage.io/pending-by-queue": "true" }
        : { "tekton-lineage.io/queue-slot": String(ticket) }),
    },
    status: waiting ? "PipelineRunPending" : undefined,
    condition: waiting ? undefined : { status: "Unknown", reason: "Running" },
  });
}

function admitter(store: MemoryLeases, runs: PipelineRun[]) {
  return new QueueAdmitter({
    store,
    instance: "a",
    maxWaiting: 100,
    conflicts: createLeaseConflictCounter(new Registry()),
    runsOfQueue: async () => runs,
  });
}

describe("QueueAdmitter", () => {
  it("rebuilds a lost queue from its runs before admitting: the new run waits behind them", async () => {
    const store = new MemoryLeases();
    const existing = [run("running", 4, false), run("waiting", 5, true)];
    const admission = await admitter(store, existing).admit(choice, "ns/new", signal());
    expect(admission).toMatchObject({ outcome: "wait", ticket: 6, position: 2 });
    const state = readQueueState(store.leases.get(queueLeaseName(id)));
    expect(state?.slots.map((s) => s.run)).toEqual(["ns/running"]);
    expect(state?.waiting.map((w) => w.run)).toEqual(["ns/waiting", "ns/new"]);
  });

  it("rebuilds and overwrites a Lease whose state cannot be read, instead of failing every admission", async () => {
    const store = new MemoryLeases();
    await store.create({
      metadata: { name: queueLeaseName(id), annotations: { "tekton-lineage.io/queue-state": "{not json" } },
    });
    const admission = await admitter(store, []).admit(choice, "ns/first", signal());
    expect(admission).toMatchObject({ outcome: "start", ticket: 1 });
    expect(readQueueState(store.leases.get(queueLeaseName(id)))?.slots.map((s) => s.run)).toEqual([
      "ns/first",
    ]);
  });

  it("gives back the place of a run whose admission fell back", async () => {
    const store = new MemoryLeases();
    const queue = admitter(store, []);
    await queue.admit(choice, "ns/a", signal());
    await queue.admit(choice, "ns/b", signal());
    await queue.release(id, "ns/a");
    await queue.release(id, "ns/b");
    const state = readQueueState(store.leases.get(queueLeaseName(id)));
    expect([state?.slots, state?.waiting]).toEqual([[], []]);
    expect((await queue.admit(choice, "ns/c", signal())).outcome).toBe("start");
  });

  it("admits into a queue whose Lease is fine without listing runs", async () => {
    const store = new MemoryLeases();
    let listed = 0;
    const queue = new QueueAdmitter({
      store,
      instance: "a",
      maxWaiting: 100,
      conflicts: createLeaseConflictCounter(new Registry()),
      runsOfQueue: async () => {
        listed += 1;
        return [];
      },
    });
    await queue.admit(choice, "ns/a", signal()); // the first admission of a new queue lists once
    await queue.admit(choice, "ns/b", signal());
    await queue.admit(choice, "ns/c", signal());
    expect(listed).toBe(1);
  });
});
