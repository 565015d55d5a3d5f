import { describe, expect, it } from "vitest";
import {
  attempt,
  counter,
  key,
  lineage,
  pacBareFailure,
  pacFailure,
  setup,
  sha,
} from "../../testing/lineage-reporter-bed.ts";

// The corrector is told by the lineage reporter (its bareStatuses): each case reconciles the lineage first.
describe("PacFailureCorrector.reconcile", () => {
  it("takes over PaC's bare failure status once a retest succeeded, in the API server's words", async () => {
    const collision = `pipelineruns.tekton.dev "build-${lineage}-1" already exists`;
    const earlier = [{ attempt: 1, name: `build-${lineage}-1`, admittedAt: "2026-11-22T10:00:00Z" }];
    const { reporter, corrector, model, events, pacPosts } = setup([attempt(2, "succeeded")], {
      counter: counter(2, earlier),
      events: [pacFailure("2026-11-22T10:00:01Z", collision)],
    });
    // Before v0.39, PaC's failure names no pipeline: the bare application name, linked to the console root.
    pacPosts(pacBareFailure);
    await reporter.reconcile(key);
    await corrector.reconcile(`ns/repo/${sha}`);
    const bare = model.jobs.filter((j) => j.name === "Pipelines as Code CI");
    expect(bare.map((j) => [j.status, j.description, j.target_url, j.retried])).toEqual([
      ["failed", "failed", "https://console.example/", true],
      [
        "success",
        `attempt 2 succeeded; attempt 1 could not be created: ${collision}`,
        `https://console.example/ns/build-${lineage}-2`,
        false,
      ],
    ]);
    expect(model.pipelinesOf("1001", sha).map((p) => p.status)).toEqual(["success"]);
    expect(events.summary).toEqual(["PacStatusCorrected repo"]);
    // Once corrected, nothing more is written.
    await corrector.reconcile(`ns/repo/${sha}`);
    expect(model.jobs.filter((j) => j.name === "Pipelines as Code CI")).toHaveLength(2);
  });

  it("takes PaC's bare failure over for a create made while tekton-lineage was down, once a retest is admitted", async () => {
    // PaC's create failed at 10:00:01, unadmitted (tekton-lineage was down); the retest was admitted at 10:02.
    const collision = 'pipelineruns.tekton.dev "build-x7k2p" already exists';
    const retest = counter(1);
    const annotations = retest.metadata.annotations ?? {};
    annotations["tekton-lineage.io/last-subject"] = (
      annotations["tekton-lineage.io/last-subject"] ?? ""
    ).replace("2026-11-22T10:00:00Z", "2026-11-22T10:02:00Z");
    const { reporter, corrector, model, pacPosts } = setup([attempt(1, "succeeded")], {
      counter: retest,
      events: [pacFailure("2026-11-22T10:00:01Z", collision)],
    });
    pacPosts(pacBareFailure);
    await reporter.reconcile(key);
    await corrector.reconcile(`ns/repo/${sha}`);
    expect(
      model.jobs.filter((j) => j.name === "Pipelines as Code CI" && !j.retried).map((j) => j.description),
    ).toEqual([`attempt 1 succeeded; an earlier attempt could not be created: ${collision}`]);
  });

  it("looks again for PaC's bare status when its Event came first, while PaC may still post it", async () => {
    const collision = `pipelineruns.tekton.dev "build-${lineage}-1" already exists`;
    const earlier = [{ attempt: 1, name: `build-${lineage}-1`, admittedAt: "2026-11-22T10:00:00Z" }];
    const wall = { now: Date.parse("2026-11-22T10:00:02Z") };
    const { reporter, corrector, model, pacPosts } = setup([attempt(2, "succeeded")], {
      counter: counter(2, earlier),
      events: [pacFailure("2026-11-22T10:00:01Z", collision)],
      overrides: { wallClock: () => wall.now },
    });
    await reporter.reconcile(key);
    const commit = `ns/repo/${sha}`;
    // PaC records its Event, then posts: tekton-lineage may see the Event before the status exists.
    expect((await corrector.reconcile(commit)).requeueAfterMs).toBe(1000);
    expect((await corrector.reconcile(commit)).requeueAfterMs).toBe(2000);
    pacPosts(pacBareFailure);
    await corrector.reconcile(commit);
    const shownBare = () =>
      model.jobs.filter((j) => j.name === "Pipelines as Code CI" && !j.retried).map((j) => j.status);
    expect(shownBare()).toEqual(["success"]);
    // PaC v0.39 and later post no bare status at all: the looking stops once PaC would have posted it.
    wall.now += 600_000;
    const { reporter: later, corrector: laterCorrector } = setup([attempt(2, "succeeded")], {
      counter: counter(2, earlier),
      events: [pacFailure("2026-11-22T10:00:01Z", collision)],
      overrides: { wallClock: () => wall.now },
    });
    await later.reconcile(key);
    expect((await laterCorrector.reconcile(commit)).requeueAfterMs).toBeUndefined();
  });
});
