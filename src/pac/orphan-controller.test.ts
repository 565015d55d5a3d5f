import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { PipelineRun } from "../core/tekton.ts";
import type { CachedEvent } from "../kube/event-source.ts";
import { silentLogger } from "../observability/logger.ts";
import { MemoryCache } from "../testing/memory-cache.ts";
import { RecordingRunWriter } from "../testing/recording-run-writer.ts";
import { pipelineRun, RecordingEvents } from "../testing/runs.ts";
import { defaultPacConfig } from "./config.ts";
import { CreationFailures } from "./creation-failures.ts";
import { OrphanController } from "./orphan-controller.ts";
import type { OrphanPolicy } from "./orphans.ts";

const orphan = pipelineRun({
  namespace: "team-a",
  name: "build-abc-1",
  labels: { "pipelinesascode.tekton.dev/state": "started" },
  annotations: {
    "tekton-lineage.io/admitted-at": "2026-11-22T10:00:00Z",
    "pipelinesascode.tekton.dev/repository": "repo",
    "pipelinesascode.tekton.dev/original-prname": "build",
  },
});
const lostAnswer: CachedEvent = {
  metadata: { name: "repo.1", namespace: "team-a", resourceVersion: "1" },
  involvedObject: { kind: "Repository", name: "repo", namespace: "team-a" },
  reason: "RepositoryPipelineRun",
  message:
    "There was an error starting the PipelineRun build-, creating pipelinerun build- in namespace team-a has failed.\n\nTekton Controller has reported this error: ```the server was unable to return a response in the time allotted```",
  lastTimestamp: new Date("2026-11-22T10:00:01Z"),
};

function setup(
  policy: OrphanPolicy,
  now: string,
  run: PipelineRun = orphan,
  secretExists: (namespace: string, name: string) => Promise<boolean | undefined> = async () => true,
) {
  const writer = new RecordingRunWriter();
  const events = new RecordingEvents();
  const controller = new OrphanController({
    runs: new MemoryCache<PipelineRun>([run]),
    creationFailures: new CreationFailures(new MemoryCache<CachedEvent>([lostAnswer])),
    writer,
    events,
    logger: silentLogger(),
    registry: new Registry(),
    pacConfig: () => defaultPacConfig,
    policy,
    graceMs: 60_000,
    secretExists,
    clock: () => Date.parse(now),
  });
  return { controller, writer, events };
}

describe("OrphanController", () => {
  it("comes back when the grace is over, then hands the run to PaC's watcher and says so", async () => {
    const early = setup("adopt", "2026-11-22T10:00:30Z");
    expect(await early.controller.reconcile("team-a/build-abc-1")).toEqual({ requeueAfterMs: 30_050 });
    expect(early.writer.actions).toEqual([]);
    const { controller, writer, events } = setup("adopt", "2026-11-22T10:02:00Z");
    expect(await controller.reconcile("team-a/build-abc-1")).toEqual({});
    expect(writer.actions).toEqual([
      {
        action: "annotateIfUnchanged",
        run: "team-a/build-abc-1",
        annotations: { "pipelinesascode.tekton.dev/state": "started" },
        labels: { "pipelinesascode.tekton.dev/state": "started" },
      },
    ]);
    expect(events.summary).toEqual(["OrphanAdopted build-abc-1"]);
  });

  const withSecret = (annotations: Record<string, string>) =>
    pipelineRun({
      namespace: "team-a",
      name: "build-abc-1",
      labels: orphan.metadata.labels,
      annotations: { ...orphan.metadata.annotations, ...annotations },
    });
  it.each<[string, PipelineRun, boolean | undefined, string, string[]]>([
    [
      "PaC v0.45 and later: its watcher makes the git-auth Secret, so the run is adopted unseen",
      withSecret({
        "pipelinesascode.tekton.dev/git-auth-secret": "pac-gitauth-x",
        "pipelinesascode.tekton.dev/secret-created": "false",
      }),
      false,
      "annotateIfUnchanged",
      [],
    ],
    [
      "before v0.45, with the Secret still there (PaC's status failed after its create): adopted",
      withSecret({ "pipelinesascode.tekton.dev/git-auth-secret": "pac-gitauth-x" }),
      true,
      "annotateIfUnchanged",
      ["team-a/pac-gitauth-x"],
    ],
    [
      "before v0.45, the Secret deleted with the failed create: cancelled, saying why",
      withSecret({ "pipelinesascode.tekton.dev/git-auth-secret": "pac-gitauth-x" }),
      false,
      "cancel",
      ["team-a/pac-gitauth-x"],
    ],
    [
      "the Secret cannot be looked at (no right to read it): cancelled, the safe answer",
      withSecret({ "pipelinesascode.tekton.dev/git-auth-secret": "pac-gitauth-x" }),
      undefined,
      "cancel",
      ["team-a/pac-gitauth-x"],
    ],
  ])("%s", async (_what, run, exists, action, asked) => {
    const looked: string[] = [];
    const { controller, writer, events } = setup("adopt", "2026-11-22T10:02:00Z", run, async (ns, name) => {
      looked.push(`${ns}/${name}`);
      return exists;
    });
    await controller.reconcile("team-a/build-abc-1");
    expect(looked).toEqual(asked);
    expect(writer.actions.map((a) => a.action)).toEqual([action]);
    expect(events.summary).toEqual([
      action === "cancel" ? "OrphanCancelled build-abc-1" : "OrphanAdopted build-abc-1",
    ]);
    if (action === "cancel")
      expect(writer.actions[0]).toMatchObject({
        decision: expect.stringMatching(/git-auth Secret pac-gitauth-x/),
      });
  });

  it("cancels it instead when told to", async () => {
    const { controller, writer, events } = setup("cancel", "2026-11-22T10:02:00Z");
    await controller.reconcile("team-a/build-abc-1");
    expect(writer.actions.map((a) => a.action)).toEqual(["cancel"]);
    expect(events.summary).toEqual(["OrphanCancelled build-abc-1"]);
  });
});
