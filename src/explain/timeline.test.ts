import { describe, expect, it } from "vitest";
import type { LineageView } from "../gitlab/status/lineage-view.ts";
import type { CachedEvent } from "../kube/event-source.ts";
import type { CounterRecord } from "../lineage/attempt-plan.ts";
import { pipelineRun } from "../testing/runs.ts";
import { renderText } from "./render.ts";
import { explainLineage, type LineageFacts } from "./timeline.ts";

const collision =
  'pipelineruns.tekton.dev "build-abc-1" already exists, the server was not able to generate a unique name for the object';

const second = pipelineRun({
  namespace: "team-a",
  name: "build-abc-2",
  labels: { "tekton-lineage.io/lineage-id": "abc", "tekton-lineage.io/attempt": "2" },
  annotations: {
    "tekton-lineage.io/attempt": "2",
    "tekton-lineage.io/admitted-at": "2026-11-23T10:00:30Z",
    "tekton-lineage.io/supersedes": "build-abc-1",
    "tekton-lineage.io/queue": "team-a/demo-repo",
    "tekton-lineage.io/queue-ticket": "7",
    "tekton-lineage.io/enqueued-at": "2026-11-23T10:00:30Z",
    "tekton-lineage.io/queue-decision": "started by queue team-a/demo-repo after waiting 4.0s",
  },
  condition: { status: "True", reason: "Succeeded", message: "Tasks Completed: 1" },
});
second.metadata.creationTimestamp = "2026-11-23T10:00:30Z" as never;
Object.assign(second.status ?? {}, {
  startTime: "2026-11-23T10:00:34Z",
  completionTime: "2026-11-23T10:01:00Z",
});

const view = (overrides: Partial<LineageView> = {}): LineageView => ({
  key: "team-a/abc",
  namespace: "team-a",
  lineageId: "abc",
  runs: [second],
  attempts: { newest: { attempt: 2, name: "build-abc-2", run: second, reportFrom: second } },
  commit: "team-a/demo-repo/4d6f1f0c",
  pipeline: "build",
  unadmitted: [],
  createdDespite: [],
  ...overrides,
});
const record: CounterRecord = {
  last: 2,
  lastName: "build-abc-2",
  earlier: [{ attempt: 1, name: "build-abc-1", admittedAt: "2026-11-23T10:00:01Z" }],
};
const promoted = {
  metadata: { name: "e1" },
  involvedObject: { kind: "PipelineRun", namespace: "team-a", name: "build-abc-2" },
  reason: "Promoted",
  message: "started by queue team-a/demo-repo after waiting 4.0s",
  lastTimestamp: "2026-11-23T10:00:34Z",
  source: { component: "tekton-lineage" },
} as unknown as CachedEvent;
const shows = { state: "success", description: "attempt 2 succeeded", targetUrl: "https://c/2", job: 9 };
const facts = (overrides: Partial<LineageFacts> = {}): LineageFacts => ({
  view: view(),
  record,
  events: [promoted],
  latestAttempt: 2,
  gitlab: {
    target: { host: "gitlab.example", projects: ["1001"], sha: "4d6f1f0c2b1e", context: "App / build" },
    should: { state: "success", description: "attempt 2 succeeded", targetUrl: "https://c/2", attempt: 2 },
    shows,
    agrees: true,
  },
  ...overrides,
});

describe("explainLineage", () => {
  it("lists every attempt the runs and the counter know, oldest first, the followed one marked", () => {
    const e = explainLineage(
      facts({
        view: view({
          attempts: {
            newest: { attempt: 2, name: "build-abc-2", run: second, reportFrom: second },
            failedEarlier: [{ attempt: 1, name: "build-abc-1", error: collision, at: 0 }],
          },
        }),
      }),
    );
    expect(e.attempts.map((a) => [a.attempt, a.name, a.latest])).toEqual([
      [1, "build-abc-1", false],
      [2, "build-abc-2", true],
    ]);
    expect(e.attempts[0]).toMatchObject({
      admittedAt: "2026-11-23T10:00:01Z",
      notCreated: `the create failed: ${collision}`,
    });
    expect(e.attempts[1]).toMatchObject({
      createdAt: "2026-11-23T10:00:30Z",
      supersedes: "build-abc-1",
      queue: { key: "team-a/demo-repo", ticket: "7" },
      startedAt: "2026-11-23T10:00:34Z",
      finishedAt: "2026-11-23T10:01:00Z",
      state: "Succeeded: Succeeded — Tasks Completed: 1",
      events: [{ reason: "Promoted", by: "tekton-lineage", at: "2026-11-23T10:00:34.000Z" }],
    });
  });

  it.each([
    [{ ...record, fallenBack: [1] }, {}, /fell back/],
    [record, {}, /deleted \(pruned\) since, or never created/],
    [
      { ...record, last: 3, lastName: "build-abc-3" },
      {
        newer: { attempt: 3, name: "build-abc-3", reportFrom: second, failure: { error: collision, at: 0 } },
      },
      /the create failed: .*already exists/,
    ],
    [
      { ...record, last: 3, lastName: "build-abc-3" },
      { newer: { attempt: 3, name: "build-abc-3", reportFrom: second } },
      /may still be on its way/,
    ],
  ])("says why an attempt has no run (%#)", (counter, attempts, why) => {
    const e = explainLineage(
      facts({ record: counter, view: view({ attempts: { newest: view().attempts.newest, ...attempts } }) }),
    );
    const missing = e.attempts.filter((a) => !a.createdAt);
    expect(missing.at(-1)?.notCreated).toMatch(why);
  });
});

describe("renderText", () => {
  it("prints a timeline per lineage and says whether GitLab shows what it should", () => {
    const text = renderText([explainLineage(facts())]);
    expect(text).toContain("lineage team-a/abc (pipeline build, commit team-a/demo-repo/4d6f1f0c)");
    expect(text).toContain("attempt 2  build-abc-2  <- GitLab follows this attempt");
    expect(text).toContain("2026-11-23T10:00:34.000Z  event Promoted (tekton-lineage): started by queue");
    expect(text).toContain('should show: success "attempt 2 succeeded" -> https://c/2');
    expect(text).toContain("= GitLab shows what it should");
  });

  it.each([
    [{ gitlab: { notReported: "not a GitLab repository" } }, "GitLab: not reported: not a GitLab repository"],
    [
      { gitlab: { ...facts().gitlab, shows: { ...shows, state: "failed" }, agrees: false } },
      "! GitLab differs",
    ],
    [
      {
        gitlab: {
          ...facts().gitlab,
          shows: undefined,
          agrees: undefined,
          showsError: "GitLab could not be read: 401",
        },
      },
      "shows now:   ? (GitLab could not be read: 401)",
    ],
  ])("%#", (overrides, line) => {
    expect(renderText([explainLineage(facts(overrides as Partial<LineageFacts>))])).toContain(line);
  });

  it("says so when nothing was found", () => {
    expect(renderText([])).toBe("no lineage found\n");
  });
});
