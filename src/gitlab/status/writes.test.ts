import { describe, expect, it } from "vitest";
import type { ActualStatus } from "../client/api.ts";
import type { DesiredStatus } from "./desired.ts";
import { converged, planWrites } from "./writes.ts";

const link2 = "https://console.example/ns/team-a/pipelinerun/build-x-2";
const link1 = "https://console.example/ns/team-a/pipelinerun/build-x-1";
const desired = (state: DesiredStatus["state"], patch: Partial<DesiredStatus> = {}): DesiredStatus => ({
  state,
  description: `attempt 2 ${state}`,
  targetUrl: link2,
  attempt: 2,
  name: "build-x-2",
  ...patch,
});
const actual = (status: string, description: string, targetUrl: string): ActualStatus => ({
  id: 1,
  status,
  description,
  targetUrl,
});

describe("planWrites", () => {
  it("posts the desired status when GitLab shows nothing", () => {
    expect(planWrites(undefined, desired("running"))).toEqual([
      { state: "running", description: "attempt 2 running", targetUrl: link2 },
    ]);
  });

  it("writes nothing when GitLab already shows it, whatever another writer worded", () => {
    expect(planWrites(actual("running", "attempt 2 running", link2), desired("running"))).toEqual([]);
    expect(
      planWrites(actual("success", "successfully validated your commit", link2), desired("success")),
    ).toEqual([]);
  });

  it("never takes GitLab back from a newer attempt (its run was pruned) to an older one", () => {
    expect(planWrites(actual("success", "attempt 3 succeeded", "x"), desired("failed"))).toEqual([]);
  });

  it("moves an open status of the same attempt forward in place", () => {
    expect(planWrites(actual("pending", "attempt 2 queued", link2), desired("running"))).toHaveLength(1);
    expect(planWrites(actual("running", "attempt 2 running", link2), desired("failed"))).toHaveLength(1);
  });

  it("closes an earlier attempt's open status as superseded, then posts the new one", () => {
    expect(planWrites(actual("running", "attempt 1 running", link1), desired("running"))).toEqual([
      { state: "canceled", description: "attempt 1 superseded by attempt 2 (build-x-2)", targetUrl: link1 },
      { state: "running", description: "attempt 2 running", targetUrl: link2 },
    ]);
    expect(planWrites(actual("pending", "attempt 1 queued", link1), desired("pending"))[0]?.state).toBe(
      "canceled",
    );
  });

  it("repairs a stale finished status from another writer with one post (a new job)", () => {
    expect(planWrites(actual("failed", "failed", "https://console.example/"), desired("running"))).toEqual([
      { state: "running", description: "attempt 2 running", targetUrl: link2 },
    ]);
  });

  it("replaces an open status with a wrong link, which only a state change can do", () => {
    const writes = planWrites(actual("running", "running", "https://console.example/"), desired("running"));
    expect(writes.map((w) => w.state)).toEqual(["canceled", "running"]);
    expect(writes[0]?.description).toBe("an earlier attempt superseded by attempt 2 (build-x-2)");
  });

  it("cancels in place when the latest attempt itself was cancelled", () => {
    expect(planWrites(actual("running", "attempt 2 running", link2), desired("canceled"))).toHaveLength(1);
  });

  describe("a status PaC wrote in its own words, known by its link", () => {
    const pacLink2 = "https://pac.example/team-a/build-x-2";
    const pacLink1 = "https://pac.example/team-a/build-x-1";
    const known = (state: DesiredStatus["state"], patch: Partial<DesiredStatus> = {}) =>
      desired(state, {
        ...patch,
        attemptLinks: new Map([
          [pacLink1, 1],
          [link1, 1],
          [pacLink2, 2],
          [link2, 2],
        ]),
      });

    it.each<{ what: string; actual: ActualStatus; desired: DesiredStatus; writes: string[] }>([
      {
        what: "PaC's running status of the same run is left alone",
        actual: actual("running", "", pacLink2),
        desired: known("running"),
        writes: [],
      },
      {
        what: "PaC's running status of a queued run is left alone (GitLab cannot go back to pending)",
        actual: actual("running", "", pacLink2),
        desired: known("pending"),
        writes: [],
      },
      {
        what: "PaC's running status of the same run is moved forward in place, never called superseded",
        actual: actual("running", "", pacLink2),
        desired: known("success"),
        writes: ["success attempt 2 success"],
      },
      {
        what: "PaC's final status of an older attempt is replaced by the latest",
        actual: actual("canceled", "cancelled validating this commit", pacLink1),
        desired: known("running"),
        writes: ["running attempt 2 running"],
      },
      {
        what: "PaC's open status of an older attempt is closed as that attempt, superseded",
        actual: actual("running", "", pacLink1),
        desired: known("running"),
        writes: ["canceled attempt 1 superseded by attempt 2 (build-x-2)", "running attempt 2 running"],
      },
      {
        what: "PaC's failure of the same run, in its words, is given the reason (a new job)",
        actual: actual("failed", "failed", link2),
        desired: known("failed", { description: "attempt 2 failed (Failed): task lint failed: boom" }),
        writes: ["failed attempt 2 failed (Failed): task lint failed: boom"],
      },
      {
        what: "PaC's success of the same run, in its words, is left alone",
        actual: actual("success", "successfully validated your commit", link2),
        desired: known("success"),
        writes: [],
      },
      {
        what: "a final status with another link of the same run is given the desired link (flags win)",
        actual: actual("success", "successfully validated your commit", pacLink2),
        desired: known("success"),
        writes: ["success attempt 2 success"],
      },
    ])("$what", ({ actual, desired, writes }) => {
      expect(planWrites(actual, desired).map((w) => `${w.state} ${w.description}`)).toEqual(writes);
    });
  });

  it.each<[string, ActualStatus, DesiredStatus, string[]]>([
    [
      "rewrites a finished status whose own words went stale (cancelling → cancelled), as a new job",
      actual("canceled", "attempt 2 cancelling", link2),
      desired("canceled", { description: "attempt 2 cancelled: waited 30s in queue q" }),
      ["canceled attempt 2 cancelled: waited 30s in queue q"],
    ],
    [
      "replaces a running status that still says queued (PaC's in_progress left the words), through a close",
      actual("running", "attempt 2 queued in q, 1 in line", link2),
      desired("running"),
      ['canceled attempt 2: status replaced by "attempt 2 running"', "running attempt 2 running"],
    ],
    [
      'keeps "attempt 2 started" on the running status PaC moved it to',
      actual("running", "attempt 2 started", link2),
      desired("running"),
      [],
    ],
  ])("%s", (_what, shownNow, wanted, writes) => {
    expect(planWrites(shownNow, wanted).map((w) => `${w.state} ${w.description}`)).toEqual(writes);
  });

  it("never reads another lineage's attempt numbers as this lineage's (a push and a merge request share a status)", () => {
    const pushLink = "https://console.example/ns/team-a/pipelinerun/build-pushlineag-3";
    const mine = desired("running", {
      lineageId: "x",
      targetUrl: "https://console.example/ns/team-a/pipelinerun/build-x-2",
    });
    // The other lineage's attempt 3 is not newer than this lineage's attempt 2: GitLab must move on.
    expect(converged(actual("running", "attempt 3 running", pushLink), mine)).toBe(false);
    expect(
      planWrites(actual("running", "attempt 3 running", pushLink), mine).map((w) => w.description),
    ).toEqual(["an earlier attempt superseded by attempt 2 (build-x-2)", "attempt 2 running"]);
  });

  it("knows convergence needs state, link and attempt to agree", () => {
    expect(converged(actual("running", "attempt 1 running", link2), desired("running"))).toBe(false);
    expect(converged(actual("running", "attempt 2 running", link1), desired("running"))).toBe(false);
  });
});
