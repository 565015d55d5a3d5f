import { Counter, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { Repository } from "../../core/repository.ts";
import type { PipelineRun } from "../../core/tekton.ts";
import type { Existence } from "../../kube/existence.ts";
import type { CachedLease } from "../../kube/leases.ts";
import { silentLogger } from "../../observability/logger.ts";
import { MemoryCache } from "../../testing/memory-cache.ts";
import { MemoryLeases } from "../../testing/memory-leases.ts";
import { type RecordedAction, RecordingRunWriter } from "../../testing/recording-run-writer.ts";
import { pipelineRun, RecordingEvents, type RunShape } from "../../testing/runs.ts";
import { QueueLimits } from "../limits.ts";
import { createQueueMetrics } from "../metrics.ts";
import {
  emptyQueue,
  type QueueState,
  queueIdOf,
  queueLease,
  queueLeaseName,
  readQueueState,
} from "../state.ts";
import { QueueController } from "./queue-controller.ts";

const key = "pac/ns/repo";
const id = queueIdOf(key);
const wallNow = Date.parse("2026-11-22T10:00:00Z");

/** A run of the queue: waiting (Pending by the queue) unless started, with its ticket. */
function queued(
  name: string,
  ticket: number,
  shape: Partial<RunShape> & { started?: number } = {},
): PipelineRun {
  const { started, annotations, ...rest } = shape;
  return pipelineRun({
    name,
    labels: { "tekton-lineage.io/queue-id": id },
    annotations: {
      "tekton-lineage.io/queue": key,
      "tekton-lineage.io/queue-ticket": String(ticket),
      "tekton-lineage.io/enqueued-at": "2026-11-22T09:59:00Z",
      "pipelinesascode.tekton.dev/repository": "repo",
      ...(started === undefined
        ? { "tekton-lineage.io/pending-by-queue": "true" }
        : { "tekton-lineage.io/queue-slot": String(started) }),
      ...annotations,
    },
    status: started === undefined ? "PipelineRunPending" : undefined,
    ...rest,
  });
}

function state(limit: number, slots: [string, number][], waiting: [string, number][]): QueueState {
  return {
    ...emptyQueue(key, limit, { kind: "repository", namespace: "ns", name: "repo" }),
    slots: slots.map(([run, ticket]) => ({
      ticket,
      run: `ns/${run}`,
      fence: ticket,
      since: "2026-11-22T09:00:00Z",
    })),
    waiting: waiting.map(([run, ticket]) => ({
      ticket,
      run: `ns/${run}`,
      enqueuedAt: "2026-11-22T09:59:00Z",
    })),
    lastTicket: Math.max(0, ...slots.map(([, t]) => t), ...waiting.map(([, t]) => t)),
    lastFence: Math.max(0, ...slots.map(([, t]) => t)),
  };
}

interface Case {
  name: string;
  runs: PipelineRun[];
  /** The queue's Lease before the reconcile; absent: no Lease. */
  lease?: QueueState;
  repository?: Record<string, string>;
  limit?: number;
  maxWait?: string;
  watched?: string[];
  /** Sharded: whether this controller moves the queue now. */
  owns?: boolean;
  writerAnswer?: (action: RecordedAction) => "done" | "changed" | "gone";
  want: {
    /** Every write and every Event the reconcile makes: one not listed fails the row (knative's TableRow). */
    actions: string[];
    events: string[];
    slots: string[];
    waiting: string[];
    requeueAfterMs?: number | "none";
    promotions?: number;
  };
}

/** "action run (detail)" of every write. */
function describeAction(a: RecordedAction): string {
  if (a.action === "start") return `start ${a.run} fence ${a.fence}`;
  if (a.action === "cancel") return `cancel ${a.run}: ${a.decision}`;
  if (a.action === "takeOverReport") return `takeOverReport ${a.run}: ${a.why}`;
  return `${a.action} ${a.run} ${a.annotations["tekton-lineage.io/queue-outcome"] ?? ""}`.trim();
}

async function setUp(c: Case, more: { clock?: () => number; exists?: Existence } = {}) {
  const runs = new MemoryCache<PipelineRun>(c.runs);
  const leases = new MemoryCache<CachedLease>();
  const store = new MemoryLeases();
  if (c.lease) {
    const lease = queueLease(undefined, c.lease, "t", new Date(wallNow));
    lease.metadata = { ...lease.metadata, name: queueLeaseName(id), namespace: store.namespace };
    leases.set((await store.create(lease)) as CachedLease);
  }
  const repositories = new MemoryCache<Repository>([
    {
      metadata: {
        namespace: "ns",
        name: "repo",
        annotations: {
          "tekton-lineage.io/queue": "enabled",
          "tekton-lineage.io/concurrency-limit": String(c.limit ?? 2),
          ...(c.maxWait ? { "tekton-lineage.io/max-queue-wait": c.maxWait } : {}),
          ...c.repository,
        },
      },
    },
  ]);
  const writer = new RecordingRunWriter();
  if (c.writerAnswer) writer.answer = c.writerAnswer;
  const events = new RecordingEvents();
  const metrics = createQueueMetrics(
    new Registry(),
    new Counter({ name: "c", help: "c", labelNames: ["kind"], registers: [] }),
  );
  const controller = new QueueController({
    runs,
    leases,
    store,
    limits: new QueueLimits({ repositories, rules: [], defaultMaxWaitMs: 0 }),
    writer,
    events,
    metrics,
    logger: silentLogger(),
    instance: "test",
    ttlMs: 60_000,
    waitingDelayMs: 100,
    watchedNamespaces: c.watched ?? [],
    owns: c.owns === undefined ? undefined : () => c.owns ?? true,
    clock: more.clock ?? (() => 1_000_000),
    wallClock: () => wallNow,
    exists: more.exists,
  });
  return { controller, store, writer, events, metrics };
}

async function reconcileOnce(c: Case) {
  const { controller, store, writer, events, metrics } = await setUp(c);
  const result = await controller.reconcile(id);
  const written = readQueueState(await store.get(queueLeaseName(id)));
  return {
    result,
    actions: writer.actions.map(describeAction),
    events: events.summary,
    written,
    promotions: (await metrics.promotions.get()).values[0]?.value ?? 0,
  };
}

describe("QueueController.reconcile", () => {
  const cases: Case[] = [
    {
      name: "frees the slot of a finished run and starts the head of the line with a new fence",
      runs: [
        queued("a", 1, { started: 1, condition: { status: "True", reason: "Succeeded" } }),
        queued("b", 2, { started: 2, condition: { status: "Unknown", reason: "Running" } }),
        queued("c", 3),
        queued("d", 4),
      ],
      lease: state(
        2,
        [
          ["a", 1],
          ["b", 2],
        ],
        [
          ["c", 3],
          ["d", 4],
        ],
      ),
      want: {
        actions: ["start ns/c fence 3"],
        events: ["Promoted c"],
        slots: ["ns/b", "ns/c"],
        waiting: ["ns/d"],
        requeueAfterMs: "none",
        promotions: 1,
      },
    },
    {
      name: "counts no promotion and records no Event when the run moved on before its start",
      runs: [queued("a", 1, { started: 1, condition: { status: "True" } }), queued("b", 2)],
      lease: state(1, [["a", 1]], [["b", 2]]),
      writerAnswer: () => "changed",
      want: { actions: ["start ns/b fence 2"], events: [], slots: ["ns/b"], waiting: [], promotions: 0 },
    },
    {
      name: "starts again a run that holds a slot but is still Pending (a start cut short), as its promotion",
      runs: [queued("b", 2)],
      lease: state(1, [["b", 2]], []),
      want: {
        actions: ["start ns/b fence 2"],
        events: ["Promoted b"],
        slots: ["ns/b"],
        waiting: [],
        promotions: 1,
      },
    },
    {
      name: "cancels a run that waited longer than the queue's maximum wait, saying why",
      maxWait: "30s",
      runs: [queued("a", 1, { started: 1, condition: { status: "Unknown" } }), queued("b", 2)],
      lease: state(1, [["a", 1]], [["b", 2]]),
      want: {
        actions: ["cancel ns/b: cancelled: waited longer than 30s in queue pac/ns/repo"],
        events: ["CancelledInQueue b"],
        slots: ["ns/a"],
        waiting: [],
      },
    },
    {
      name: "keeps the place of a missing head of the line and comes back within the TTL",
      runs: [queued("a", 1, { started: 1, condition: { status: "True" } })],
      lease: state(1, [["a", 1]], [["b", 2]]),
      want: { actions: [], events: [], slots: [], waiting: ["ns/b"], requeueAfterMs: 15_000 },
    },
    {
      name: "counts a waiting run started by someone else against the limit",
      runs: [queued("b", 2, { status: undefined, condition: { status: "Unknown" } })],
      lease: state(1, [], [["b", 2]]),
      want: { actions: ["annotate ns/b started-outside"], events: [], slots: ["ns/b"], waiting: [] },
    },
    {
      name: "rebuilds a lost Lease from the runs: running ones hold slots, waiting ones keep their tickets",
      runs: [
        queued("a", 1, { started: 1, condition: { status: "Unknown" } }),
        queued("c", 3),
        queued("b", 2),
      ],
      limit: 1,
      want: { actions: [], events: [], slots: ["ns/a"], waiting: ["ns/b", "ns/c"] },
    },
    {
      name: "leaves alone a queue with runs in a namespace it does not watch",
      watched: ["other"],
      runs: [queued("a", 1, { started: 1, condition: { status: "True" } }), queued("b", 2)],
      lease: state(1, [["a", 1]], [["b", 2]]),
      want: { actions: [], events: [], slots: ["ns/a"], waiting: ["ns/b"] },
    },
    {
      // Sharded, its bucket given up: the Lease read past the cache must not be planned from runs
      // this replica no longer sees (they would look deleted, and the line would lose them).
      name: "leaves alone a queue it does not own, whatever its caches show",
      owns: false,
      runs: [queued("a", 1, { started: 1, condition: { status: "True" } }), queued("b", 2)],
      lease: state(1, [["a", 1]], [["b", 2]]),
      want: { actions: [], events: [], slots: ["ns/a"], waiting: ["ns/b"] },
    },
  ];

  it.each(cases)("$name", async (c) => {
    const got = await reconcileOnce(c);
    expect(got.actions).toEqual(c.want.actions);
    expect(got.events).toEqual(c.want.events);
    expect(got.written?.slots.map((s) => s.run)).toEqual(c.want.slots);
    expect(got.written?.waiting.map((w) => w.run)).toEqual(c.want.waiting);
    if (c.want.requeueAfterMs === "none") expect(got.result.requeueAfterMs).toBeUndefined();
    else if (c.want.requeueAfterMs !== undefined)
      expect(got.result.requeueAfterMs).toBe(c.want.requeueAfterMs);
    if (c.want.promotions !== undefined) expect(got.promotions).toBe(c.want.promotions);
  });
});

describe("taking back the place of a run that never appeared", () => {
  it.each([
    { name: "the API server has it (the cache lags): it keeps its slot", found: true, freed: false },
    { name: "the API server cannot tell (forbidden): it keeps its slot", found: undefined, freed: false },
    { name: "the API server has none: its slot goes to the head of the line", found: false, freed: true },
  ])("after the TTL, asks the API server first — $name", async ({ found, freed }) => {
    let now = 1_000_000;
    const asked: string[] = [];
    const { controller, store, writer } = await setUp(
      {
        name: "",
        runs: [queued("b", 2)],
        lease: state(1, [["ghost", 1]], [["b", 2]]),
        limit: 1,
        want: { actions: [], events: [], slots: ["ns/ghost"], waiting: ["ns/b"] },
      },
      {
        clock: () => now,
        exists: async (namespace, name) => {
          asked.push(`${namespace}/${name}`);
          return found;
        },
      },
    );
    await controller.reconcile(id); // notices the run missing
    expect(asked).toEqual([]);
    now += 60_000;
    await controller.reconcile(id);
    expect(asked).toEqual(["ns/ghost"]);
    const written = readQueueState(await store.get(queueLeaseName(id)));
    expect(written?.slots.map((s) => s.run)).toEqual(freed ? ["ns/b"] : ["ns/ghost"]);
    expect(writer.actions.map(describeAction)).toEqual(freed ? ["start ns/b fence 2"] : []);
  });
});

describe("what a waiting run is told", () => {
  it("is written once, when it starts waiting; a promotion rewrites nothing on the runs still in line", async () => {
    const recorded = { "tekton-lineage.io/queue-outcome": "waiting" };
    const { controller, writer, events } = await setUp({
      name: "",
      runs: [
        queued("a", 1, { started: 1, condition: { status: "True", reason: "Succeeded" } }),
        queued("b", 2, { annotations: recorded }),
        queued("c", 3, { annotations: recorded }),
        queued("d", 4),
      ],
      lease: state(
        1,
        [["a", 1]],
        [
          ["b", 2],
          ["c", 3],
          ["d", 4],
        ],
      ),
      limit: 1,
      want: { actions: [], events: [], slots: [], waiting: [] },
    });
    await controller.reconcile(id);
    const signal = new AbortController();
    controller.waiting.controller.run(signal.signal);
    controller.waiting.controller.enqueue(id);
    await controller.waiting.controller.idle();
    signal.abort();
    // b started (the Lease and b: the promotion); c keeps what it was told; d, new in line, is told once.
    expect(writer.actions.map(describeAction)).toEqual([
      "start ns/b fence 2",
      "annotateWaiting ns/d waiting",
    ]);
    expect(writer.actions[1]).toMatchObject({
      annotations: {
        "tekton-lineage.io/queue-decision": "waiting in queue pac/ns/repo (ticket 4, limit 1)",
        "tekton-lineage.io/queue-position": null,
      },
    });
    expect(events.summary).toEqual(["Promoted b", "Queued d"]);
  });
});

describe("a start the cache has not shown yet", () => {
  it("is not made twice when the Lease is seen changed before the run", async () => {
    let now = 1_000_000;
    const { controller, writer } = await setUp(
      {
        name: "",
        runs: [
          queued("a", 1, { started: 1, condition: { status: "True", reason: "Succeeded" } }),
          queued("b", 2),
        ],
        lease: state(1, [["a", 1]], [["b", 2]]),
        limit: 1,
        want: { actions: [], events: [], slots: [], waiting: [] },
      },
      { clock: () => now },
    );
    await controller.reconcile(id);
    // The new Lease comes back first: b still looks Pending, holding its slot.
    await controller.reconcile(id);
    expect(writer.actions.map(describeAction)).toEqual(["start ns/b fence 2"]);
    // Long after, a run still Pending in its slot lost its start: it is started again.
    now += 10_000;
    await controller.reconcile(id);
    expect(writer.actions.map(describeAction)).toEqual(["start ns/b fence 2", "start ns/b fence 2"]);
  });
});
