import { describe, expect, it } from "vitest";
import type { ActualStatus } from "../client/api.ts";
import type { BarePart } from "../status/bare-entry.ts";
import type { DesiredStatus } from "../status/desired.ts";
import { planWrites } from "../status/writes.ts";
import { bareJudge, bareStatus, bareStatusesToCorrect, nearFailure, writtenByUs } from "./bare-status.ts";

const exists = 'pipelineruns.tekton.dev "build-abc-1" already exists';
const latest = (state: DesiredStatus["state"], description: string, targetUrl: string): DesiredStatus => ({
  state,
  description,
  targetUrl,
  attempt: 2,
  name: "build-abc-2",
});
const part = (patch: Partial<BarePart> = {}): BarePart => ({
  pipeline: "build",
  latest: latest("success", "attempt 2 succeeded", "https://c/build-abc-2"),
  latestMissing: false,
  failed: [{ attempt: 1, error: exists, at: 0 }],
  ...patch,
});
const missing = (pipeline: string, error: string): BarePart =>
  part({
    pipeline,
    latest: latest("failed", `attempt 1 could not be created: ${error}`, "https://errors/x"),
    latestMissing: true,
    failed: [],
  });

describe("bareStatus", () => {
  it.each<{ what: string; parts: BarePart[]; expected: Partial<DesiredStatus> }>([
    {
      what: "the latest attempt, saying the earlier create failed",
      parts: [part()],
      expected: {
        state: "success",
        description: `attempt 2 succeeded; attempt 1 could not be created: ${exists}`,
        targetUrl: "https://c/build-abc-2",
      },
    },
    {
      what: "the failed create itself while it is the latest, with the error link",
      parts: [missing("build", exists)],
      expected: {
        state: "failed",
        description: `attempt 1 could not be created: ${exists}`,
        targetUrl: "https://errors/x",
      },
    },
    {
      what: "several failed creates of one pipeline, and one tekton-lineage never admitted",
      parts: [
        part({
          latest: latest("running", "attempt 4 running", "https://c/4"),
          failed: [
            { attempt: 3, error: exists, at: 0 },
            { attempt: 2, error: "x", at: 0 },
            { error: "y", at: 0 },
          ],
        }),
      ],
      expected: {
        state: "running",
        description: `attempt 4 running; attempts 2, 3 and an earlier one could not be created: ${exists}`,
      },
    },
    {
      what: "a run that exists although PaC was told its create failed",
      parts: [
        part({
          latest: latest("success", "attempt 1 succeeded", "https://c/1"),
          failed: [{ attempt: 1, error: "timeout", at: 0, created: true }],
        }),
      ],
      expected: { description: "attempt 1 succeeded; attempt 1 was created although PaC was told: timeout" },
    },
    {
      what: "a create tekton-lineage never admitted",
      parts: [part({ failed: [{ error: exists, at: 0 }] })],
      expected: { description: `attempt 2 succeeded; an earlier attempt could not be created: ${exists}` },
    },
    {
      what: "the worst latest state of several pipelines, naming each",
      parts: [part(), missing("test", "denied")],
      expected: {
        state: "failed",
        description: `build: attempt 2 succeeded; attempt 1 could not be created: ${exists} | test: attempt 1 could not be created: denied`,
        targetUrl: "https://errors/x",
      },
    },
  ])("shows $what", ({ parts, expected }) => {
    expect(bareStatus(parts, "Pipelines as Code CI")).toMatchObject(expected);
  });

  it("names every pipeline within 255 characters, shortening the API server's words", () => {
    const long = `admission webhook "policy.example" denied the request: ${"x".repeat(400)}`;
    const status = bareStatus(
      [part({ failed: [{ attempt: 1, error: long, at: 0 }] }), missing("test", long)],
      "CI",
    );
    expect([...(status?.description ?? "")].length).toBeLessThanOrEqual(255);
    expect(status?.description).toMatch(
      /^build: attempt 2 succeeded; attempt 1 could not be created: admission.*… \| test: attempt 1 could not be created: admission.*…$/,
    );
  });

  it("is nothing without a pipeline", () => {
    expect(bareStatus([], "CI")).toBeUndefined();
  });
});

const actual = (status: string, description: string, targetUrl: string): ActualStatus => ({
  id: 1,
  status,
  description,
  targetUrl,
});

describe("planWrites with bareJudge", () => {
  const desired = latest("success", "attempt 2 succeeded; attempt 1 could not be created: x", "https://c/2");
  it.each<{ what: string; actual: ActualStatus; desired: DesiredStatus; writes: string[] }>([
    {
      what: "PaC's failure is replaced (a new job; the old one becomes retried)",
      actual: actual("failed", "failed", "https://console.example/"),
      desired,
      writes: ["success"],
    },
    {
      what: "nothing when it already shows it",
      actual: actual("success", desired.description, "https://c/2"),
      desired,
      writes: [],
    },
    {
      what: "new words for a finished status",
      actual: actual("success", "attempt 1 could not be created: x", "https://c/2"),
      desired,
      writes: ["success"],
    },
    {
      what: "an open status of the same link keeps its words until its state changes",
      actual: actual("running", "attempt 2 running; attempt 1 could not be created: x", "https://c/2"),
      desired: latest("running", "attempt 2 running; attempts 1 could not be created: y", "https://c/2"),
      writes: [],
    },
    {
      what: "an open status moves forward in place",
      actual: actual("running", "attempt 2 running; …", "https://c/2"),
      desired,
      writes: ["success"],
    },
    {
      what: "an open status of another link is closed first",
      actual: actual("running", "attempt 2 running; …", "https://c/2"),
      desired: latest("running", "attempt 3 running; …", "https://c/3"),
      writes: ["canceled", "running"],
    },
  ])("$what", ({ actual, desired, writes }) => {
    expect(planWrites(actual, desired, bareJudge).map((w) => w.state)).toEqual(writes);
  });
});

describe("recognising the bare status", () => {
  it("knows tekton-lineage's words and PaC's timing", () => {
    expect(writtenByUs(actual("success", "attempt 2 succeeded; attempt 1 could not…", ""))).toBe(true);
    expect(writtenByUs(actual("failed", "build: attempt 1 could not be created: x | test: …", ""))).toBe(
      true,
    );
    expect(writtenByUs(actual("failed", "failed", ""))).toBe(false);
    const at = Date.parse("2026-11-22T10:00:00Z");
    expect(nearFailure("2026-11-22T10:00:01.500Z", at)).toBe(true);
    expect(nearFailure("2026-11-22T10:10:00Z", at)).toBe(false);
    expect(nearFailure(undefined, at)).toBe(false);
  });
});

describe("bareStatusesToCorrect", () => {
  const failedAt = Date.parse("2026-11-22T10:00:00Z");
  const job = (id: number, patch: Partial<ActualStatus>): ActualStatus => ({
    id,
    status: "failed",
    description: "failed",
    targetUrl: "https://console.example/",
    pipelineId: 7,
    createdAt: "2026-11-22T10:00:02Z",
    ...patch,
  });
  const built = part({ failed: [{ attempt: 1, error: exists, at: failedAt }] });

  it.each<{
    what: string;
    parts: BarePart[];
    jobs: ActualStatus[];
    corrected: number[];
    description?: string;
  }>([
    {
      what: "PaC's failure posted with the failed create",
      parts: [built],
      jobs: [job(1, {})],
      corrected: [1],
    },
    {
      what: "not a failure posted long before (a commit that failed validation, say)",
      parts: [built],
      jobs: [job(1, { createdAt: "2026-11-22T09:00:00Z" })],
      corrected: [],
    },
    {
      what: "PaC's failure posted onto an open job made long before (/ok-to-test's 'Pending approval')",
      parts: [built],
      jobs: [job(1, { createdAt: "2026-11-22T09:00:00Z", finishedAt: "2026-11-22T10:00:02Z" })],
      corrected: [1],
    },
    { what: "nothing where PaC posted nothing", parts: [built], jobs: [], corrected: [] },
    {
      what: "tekton-lineage's own correction, when it is out of date",
      parts: [built],
      jobs: [
        job(1, { retried: true }),
        job(2, {
          status: "running",
          description: "attempt 2 running; attempt 1 could not be created: x",
          targetUrl: "https://c/build-abc-2",
        }),
      ],
      corrected: [2],
    },
    {
      what: "the newest status of each pipeline",
      parts: [built],
      jobs: [job(1, {}), job(2, { pipelineId: 8 }), job(3, { pipelineId: 8, retried: true })],
      corrected: [1, 2],
    },
    {
      what: "a create tekton-lineage never admitted, where PaC posted its failure at that time",
      parts: [part({ failed: [{ error: exists, at: failedAt }] })],
      jobs: [job(1, {})],
      corrected: [1],
    },
    {
      what: "only the failure nearest to PaC's status of this commit, of two never admitted a minute apart",
      parts: [
        part({
          failed: [
            { error: "this commit's", at: failedAt },
            { error: "another commit's", at: failedAt - 60_000 },
          ],
        }),
      ],
      jobs: [job(1, {})],
      corrected: [1],
      description: "attempt 2 succeeded; an earlier attempt could not be created: this commit's",
    },
    {
      what: "not a create tekton-lineage never admitted of another commit (no failure posted here then)",
      parts: [part({ failed: [{ error: exists, at: failedAt + 3_600_000 }] })],
      jobs: [job(1, {})],
      corrected: [],
    },
  ])("corrects $what", ({ parts, jobs, corrected, description }) => {
    const corrections = bareStatusesToCorrect(parts, jobs, "CI").filter((c) => c.writes.length > 0);
    expect(corrections.map((c) => c.job.id)).toEqual(corrected);
    if (description) expect(corrections[0]?.desired.description).toBe(description);
  });

  it("says whether it takes PaC's status over", () => {
    const [correction] = bareStatusesToCorrect([built], [job(1, {})], "Pipelines as Code CI");
    expect(correction).toMatchObject({
      takeover: true,
      writes: [
        { state: "success", description: `attempt 2 succeeded; attempt 1 could not be created: ${exists}` },
      ],
    });
  });
});
