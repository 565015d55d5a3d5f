import { describe, expect, it } from "vitest";
import type { Repository } from "../../core/repository.ts";
import { readPacConfig } from "../../pac/config.ts";
import {
  attempt,
  context,
  key,
  lineage,
  pacFailure,
  pacLink,
  repository,
  setup,
  sha,
} from "../../testing/lineage-reporter-bed.ts";
import { MemoryCache } from "../../testing/memory-cache.ts";
import { GitLabError } from "../client/api.ts";

describe("LineageReporter.reconcile", () => {
  it.each([
    ["a running attempt", [attempt(1)], "running", "attempt 1 running"],
    ["a waiting attempt", [attempt(1, "pending")], "pending", "attempt 1 pending (not started yet)"],
    ["a succeeded attempt", [attempt(1, "succeeded")], "success", "attempt 1 succeeded"],
    [
      "a failed attempt",
      [attempt(1, "failed")],
      "failed",
      "attempt 1 failed (Failed): Tasks Completed: 1 (Failed: 1)",
    ],
    ["the latest of two", [attempt(1, "failed"), attempt(2)], "running", "attempt 2 running"],
  ])("shows %s with its link, and comes back for a resync", async (_name, runs, state, description) => {
    const { reporter, shown } = setup(runs);
    const result = await reporter.reconcile(key);
    const latest = runs.at(-1)?.metadata.name;
    expect(shown()).toMatchObject({
      status: state,
      description,
      target_url: `https://console.example/ns/${latest}`,
    });
    // A resync, spread upwards (random 0.5: a tenth above it).
    expect(result.requeueAfterMs).toBe(66_000);
  });

  it("closes an earlier attempt's open status as superseded before showing the newer one", async () => {
    const { reporter, model, cache, shown } = setup([attempt(1)]);
    await reporter.reconcile(key);
    cache.set(attempt(2));
    await reporter.reconcile(key);
    expect(model.jobs.map((j) => [j.status, j.description, j.retried])).toEqual([
      ["canceled", "attempt 1 superseded by attempt 2 (build-abcdefghij-2)", true],
      ["running", "attempt 2 running", false],
    ]);
    expect(shown()?.target_url).toBe("https://console.example/ns/build-abcdefghij-2");
  });

  it("reports an attempt PaC could not create, in the API server's words, once its run has not come", async () => {
    const clock = { now: 0 };
    const { reporter, shown, events } = setup([attempt(1, "succeeded")], {
      counter: 2,
      clock: () => clock.now,
      events: [pacFailure("2026-11-22T10:00:02Z")],
    });
    // PaC's record names no commit: until the grace passes it may be another commit's failure. Attempt
    // 1's success is not written meanwhile: attempt 2 may be the latest, and it has not succeeded.
    expect((await reporter.reconcile(key)).requeueAfterMs).toBe(30_050);
    expect(shown()).toBeUndefined();
    clock.now = 30_000;
    await reporter.reconcile(key);
    await reporter.reconcile(key);
    expect(shown()).toMatchObject({
      status: "failed",
      description:
        'attempt 2 could not be created: admission webhook "policy.example" denied the request: no',
      target_url: `https://errors.example/${lineage}`,
    });
    expect(events.summary).toEqual(["CreationFailed build-abcdefghij-2"]);
  });

  it("never reports an attempt nobody says failed: holds the older success during the grace, then keeps the newest run", async () => {
    const clock = { now: 0 };
    const { reporter, shown, events } = setup([attempt(1, "succeeded")], {
      counter: 2,
      clock: () => clock.now,
    });
    expect((await reporter.reconcile(key)).requeueAfterMs).toBe(30_050);
    expect(shown()).toBeUndefined();
    clock.now = 30_000;
    await reporter.reconcile(key);
    expect(shown()).toMatchObject({ status: "success", description: "attempt 1 succeeded" });
    expect(events.summary).toEqual([]);
  });

  it("reads GitLab again soon after PaC recorded a failed create: PaC's status of it may land after ours", async () => {
    const clock = { now: 0 };
    const collision = `pipelineruns.tekton.dev "build-${lineage}-2" already exists`;
    const { reporter, shown, pacPosts } = setup([attempt(1, "succeeded")], {
      counter: 2,
      clock: () => clock.now,
      events: [pacFailure("2026-11-22T10:00:02Z", collision)],
      // A moment after PaC recorded it (a failure recorded long ago is not read on this schedule).
      overrides: { wallClock: () => Date.parse("2026-11-22T10:00:03Z") + clock.now },
    });
    const first = await reporter.reconcile(key);
    expect(shown()?.description).toBe(`attempt 2 could not be created: ${collision}`);
    // PaC posts its own failure after its Event: a new job that replaces tekton-lineage's.
    pacPosts({ state: "failed", description: "failed", target_url: "https://console.example/" });
    expect(shown()?.description).toBe("failed");
    expect(first.requeueAfterMs).toBeLessThanOrEqual(1010);
    clock.now = 1010;
    await reporter.reconcile(key);
    expect(shown()).toMatchObject({
      status: "failed",
      description: `attempt 2 could not be created: ${collision}`,
    });
  });

  it("leaves GitLab alone when every run of the lineage was pruned", async () => {
    const { reporter, model } = setup([], { counter: 3 });
    await reporter.reconcile(key);
    expect(model.jobs).toEqual([]);
  });

  it("repairs another writer's change at most maxRepairs times per window, then stops contesting", async () => {
    const clock = { now: 0 };
    const { reporter, model, shown, metric } = setup([attempt(1)], { clock: () => clock.now });
    await reporter.reconcile(key);
    const stale = () =>
      model.postStatus("bot-token", "1001", sha, {
        state: "failed",
        name: context,
        description: "failed",
      });
    for (let i = 0; i < 3; i++) {
      stale();
      clock.now += 60_000; // the resync: GitLab is read again
      await reporter.reconcile(key);
    }
    expect(await metric("tekton_lineage_gitlab_repairs_total")).toBe(2);
    expect(await metric("tekton_lineage_gitlab_problems_total")).toBe(1);
    expect(shown()?.status).toBe("failed");
  });

  it("waits on a host that does not answer without counting the lineage's failures", async () => {
    const { reporter, clients, shown } = setup([attempt(1)]);
    clients.gate.unreachable("https://gitlab.example");
    for (let i = 0; i < 5; i++) clients.failures.push(new GitLabError(0, "no answer", 500));
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await reporter.reconcile(key));
    // The same short wait every time: the host's window, not a backoff growing per try (no retry the
    // shell would count).
    expect(new Set(results.map((r) => r.requeueAfterMs)).size).toBe(1);
    expect(results[0]?.requeueAfterMs).toBeLessThan(1000);
    expect(results.map((r) => r.retry)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    await reporter.reconcile(key);
    expect(shown()?.status).toBe("running");
  });

  it("reads a refused token's Secret again and says so once", async () => {
    const { reporter, clients, metric } = setup([attempt(1)]);
    clients.failures.push(new GitLabError(401, "401 Unauthorized"), new GitLabError(401, "401 Unauthorized"));
    const first = await reporter.reconcile(key);
    const second = await reporter.reconcile(key);
    // A retry the shell backs off by the lineage's failures in a row (5 s, 10 s, … 5 min).
    const policy = { baseMs: 5_000, capMs: 300_000 };
    expect([first.retry, second.retry]).toEqual([{ policy }, { policy }]);
    expect(clients.forgotten).toHaveLength(2);
    expect(await metric("tekton_lineage_gitlab_problems_total")).toBe(1);
  });

  it("keeps the pipeline id GitLab answered on every run of the lineage", async () => {
    const { reporter, writer, model } = setup([attempt(1, "failed"), attempt(2)]);
    await reporter.reconcile(key);
    const id = String(model.pipelines[0]?.id);
    expect(writer.actions).toEqual([
      {
        action: "annotate",
        run: "ns/build-abcdefghij-1",
        annotations: { "tekton-lineage.io/gitlab-pipeline-id": id },
      },
      {
        action: "annotate",
        run: "ns/build-abcdefghij-2",
        annotations: { "tekton-lineage.io/gitlab-pipeline-id": id },
      },
    ]);
  });

  it("never lets an older attempt's final report from PaC win, whatever the repair budget", async () => {
    const clock = { now: 0 };
    const older = [1, 2, 3, 4];
    // PaC took the runs over (its state annotation): its watcher will report each one that ends.
    const pacs = { "pipelinesascode.tekton.dev/state": "started" };
    const { reporter, cache, shown, pacPosts, metric } = setup(
      [...older.map((n) => attempt(n, "running", pacs)), attempt(5)],
      {
        clock: () => clock.now,
      },
    );
    await reporter.reconcile(key);
    expect(shown()).toMatchObject({ status: "running", description: "attempt 5 running" });
    for (const n of older) {
      // An older attempt ends; PaC's watcher posts its final status on the same name, and GitLab applies it
      // to the open job of the same user: attempt 5's.
      cache.set(attempt(n, n % 2 === 0 ? "cancelled" : "failed", pacs));
      pacPosts({
        state: "canceled",
        description: "cancelled validating this commit",
        target_url: pacLink(n),
      });
      expect(shown()).toMatchObject({ status: "canceled", target_url: pacLink(n) });
      const first = await reporter.reconcile(key);
      // Read again soon after the run ended (PaC's watcher posts then), not only at the next resync.
      expect(first.requeueAfterMs).toBeLessThanOrEqual(1010);
      clock.now += first.requeueAfterMs ?? 0;
      await reporter.reconcile(key);
      expect(shown()).toMatchObject({ status: "running", description: "attempt 5 running" });
      clock.now += 60_000;
    }
    // Four repairs, each of an older attempt's report: maxRepairs (2) did not stop them.
    expect(await metric("tekton_lineage_gitlab_repairs_total")).toBe(4);
    expect(await metric("tekton_lineage_gitlab_problems_total")).toBe(0);
  });

  /** PaC took the run over and reported its start. */
  const pacStarted = {
    "pipelinesascode.tekton.dev/state": "started",
    "pipelinesascode.tekton.dev/scm-reporting-plr-started": "true",
  };

  it("reads GitLab once when PaC reports the latest attempt's end, not on a timer, and restores its own words", async () => {
    const clock = { now: 0 };
    const { reporter, cache, shown, pacPosts, clients } = setup([attempt(1, "running", pacStarted)], {
      clock: () => clock.now,
    });
    await reporter.reconcile(key);
    cache.set(attempt(1, "failed", pacStarted));
    const ended = await reporter.reconcile(key);
    const words = "attempt 1 failed (Failed): Tasks Completed: 1 (Failed: 1)";
    expect(shown()).toMatchObject({ status: "failed", description: words });
    // PaC's report of it will agree in state: no read before it comes.
    expect(ended.requeueAfterMs).toBeGreaterThan(30_000);
    expect(clients.calls).toEqual(["GET 200", "POST 201", "POST 201"]);
    // PaC's watcher posts its final status in its own words and link, then writes its state.
    clock.now += 2000;
    pacPosts({ state: "failed", description: "failed", target_url: pacLink(1) });
    cache.set(attempt(1, "failed", { ...pacStarted, "pipelinesascode.tekton.dev/state": "completed" }));
    await reporter.reconcile(key);
    expect(shown()).toMatchObject({
      status: "failed",
      description: words,
      target_url: `https://console.example/ns/build-${lineage}-1`,
    });
    expect(clients.calls.slice(3)).toEqual(["GET 200", "POST 201"]);
  });

  it("reads GitLab on PaC's schedule once a newer attempt makes an ended run's coming report stale", async () => {
    const clock = { now: 0 };
    const { reporter, cache, shown, pacPosts } = setup([attempt(1, "running", pacStarted)], {
      clock: () => clock.now,
    });
    await reporter.reconcile(key);
    cache.set(attempt(1, "succeeded", pacStarted));
    await reporter.reconcile(key);
    expect(shown()).toMatchObject({ status: "success", description: "attempt 1 succeeded" });
    // Attempt 2 is admitted before PaC's watcher, already reading attempt 1, has posted its success.
    clock.now += 500;
    cache.set(attempt(2));
    const admitted = await reporter.reconcile(key);
    expect(shown()).toMatchObject({ status: "running", description: "attempt 2 running" });
    expect(admitted.requeueAfterMs).toBeLessThanOrEqual(1010);
    pacPosts({ state: "success", description: "successfully validated your commit", target_url: pacLink(1) });
    expect(shown()).toMatchObject({ status: "success", target_url: pacLink(1) });
    clock.now += admitted.requeueAfterMs ?? 0;
    await reporter.reconcile(key);
    expect(shown()).toMatchObject({ status: "running", description: "attempt 2 running" });
  });

  it("reads a quiet lineage again only when it changes, not on every resync", async () => {
    const clock = { now: 0 };
    const { reporter, cache, clients, shown, metric } = setup([attempt(1, "succeeded")], {
      clock: () => clock.now,
    });
    let result = await reporter.reconcile(key);
    // Followed until it stops coming back: the two resyncs after done.
    while (result.requeueAfterMs !== undefined) {
      clock.now += result.requeueAfterMs;
      result = await reporter.reconcile(key);
    }
    expect(clients.calls).toEqual(["GET 200", "POST 201", "GET 200", "GET 200"]);
    // The informer's resyncs (every --resync) hand it over again and again: GitLab is not read.
    for (let i = 0; i < 3; i++) {
      clock.now += 300_000;
      expect(await reporter.reconcile(key)).toEqual({ requeueAfterMs: undefined });
    }
    expect(clients.calls).toHaveLength(4);
    expect(await metric("tekton_lineage_gitlab_quiet_lineages")).toBe(1);
    // One of its runs is written (PaC's state annotation, say): it is read again.
    cache.set({ ...attempt(1, "succeeded", { "pipelinesascode.tekton.dev/state": "completed" }) });
    await reporter.reconcile(key);
    expect(clients.calls.slice(4)).toEqual(["GET 200"]);
    expect(shown()).toMatchObject({ status: "success", description: "attempt 1 succeeded" });
  });

  it("takes a lineage that went out of sight off its commit's bare status when a new term starts", async () => {
    const clock = { now: 0 };
    const board: [string, string, boolean][] = [];
    const { reporter, cache } = setup([attempt(1, "succeeded")], {
      counter: 2,
      clock: () => clock.now,
      events: [pacFailure("2026-11-22T10:00:02Z")],
      overrides: {
        bareStatuses: {
          update: (commit, lineage, entry) => board.push([commit, lineage, entry !== undefined]),
        },
      },
    });
    let result = await reporter.reconcile(key);
    while (result.requeueAfterMs !== undefined) {
      clock.now += result.requeueAfterMs;
      result = await reporter.reconcile(key);
    }
    const commit = `ns/repo/${sha}`;
    expect(board.at(-1)).toEqual([commit, key, true]);
    cache.delete("ns", `build-${lineage}-1`);
    const term = new AbortController();
    reporter.run(term.signal);
    term.abort();
    expect(board.at(-1)).toEqual([commit, key, false]);
  });

  it("forgets a lineage that went out of sight when a new term starts, so it is read again when it comes back", async () => {
    const clock = { now: 0 };
    const run = attempt(1, "succeeded");
    const { reporter, cache, clients, metric } = setup([run], { clock: () => clock.now });
    let result = await reporter.reconcile(key);
    while (result.requeueAfterMs !== undefined) {
      clock.now += result.requeueAfterMs;
      result = await reporter.reconcile(key);
    }
    const quiet = clients.calls.length;
    // Its bucket is given up: the informer drops its runs without an event, and a new term starts.
    cache.delete("ns", run.metadata.name ?? "");
    const term = new AbortController();
    reporter.run(term.signal);
    term.abort();
    expect(await metric("tekton_lineage_gitlab_quiet_lineages")).toBe(0);
    // Taken back later: nothing is remembered of it, so GitLab is read before anything is trusted.
    cache.set(run);
    await reporter.reconcile(key);
    expect(clients.calls.slice(quiet)).toEqual(["GET 200"]);
  });

  it.each([
    { name: "reads nothing for it", events: [], readsAfterRestart: [] },
    {
      // The bare status's part of a failed create lives in the corrector's memory: filled by a read.
      name: "reads it once where its creates failed",
      events: [pacFailure("2026-11-22T10:00:02Z")],
      readsAfterRestart: ["GET 200"],
    },
  ])(
    "keeps a quiet lineage's mark on its counter: a restarted reporter, or a bucket's next owner, $name",
    async ({ events, readsAfterRestart }) => {
      const clock = { now: 0 };
      const written: string[] = [];
      const { reporter, nextReporter, cache, counters, clients } = setup([attempt(1, "succeeded")], {
        counter: events.length > 0 ? 2 : 1,
        events,
        clock: () => clock.now,
        overrides: {
          // As counterQuietMarks does on the Lease: the mark as an annotation of the counter.
          quietMarks: {
            write: async ({ lineageId }, mark) => {
              written.push(lineageId);
              const lease = counters.list()[0];
              if (!lease) return;
              const annotations = { ...lease.metadata.annotations, "tekton-lineage.io/gitlab-quiet": mark };
              counters.set({ ...lease, metadata: { ...lease.metadata, annotations } });
            },
          },
        },
      });
      /** Reconciles as the controller would, following each requeue, until the lineage is settled. */
      const untilSettled = async (r: typeof reporter) => {
        let result = await r.reconcile(key);
        while (result.requeueAfterMs !== undefined) {
          clock.now += result.requeueAfterMs;
          result = await r.reconcile(key);
        }
      };
      await untilSettled(reporter);
      expect(written).toEqual([lineage]);
      const settled = clients.calls.length;
      // Reconciled again (its counter changed: the mark itself): the mark is there, nothing is written.
      await reporter.reconcile(key);
      expect(written).toEqual([lineage]);
      expect(clients.calls).toHaveLength(settled);
      const next = nextReporter();
      await untilSettled(next);
      expect(clients.calls.slice(settled)).toEqual(readsAfterRestart);
      // Once a run of it changes, later, the next owner reads GitLab as any would.
      clock.now += 120_000;
      const before = clients.calls.length;
      cache.set(attempt(1, "succeeded", { "pipelinesascode.tekton.dev/state": "completed" }));
      await next.reconcile(key);
      expect(clients.calls.slice(before)).toEqual(["GET 200"]);
    },
  );

  it("leaves PaC's own status of the latest run alone, in PaC's words", async () => {
    const { reporter, model, pacPosts } = setup([attempt(1)]);
    pacPosts({ state: "running", description: "", target_url: pacLink(1) });
    await reporter.reconcile(key);
    expect(model.jobs.map((j) => [j.status, j.target_url])).toEqual([["running", pacLink(1)]]);
  });

  const fork = (extra: Record<string, string> = {}) =>
    attempt(1, "running", {
      "pipelinesascode.tekton.dev/target-project-id": "1000",
      "pipelinesascode.tekton.dev/pull-request": "7",
      ...extra,
    });
  const upstream: Repository = {
    ...repository,
    spec: { ...repository.spec, url: "https://gitlab.example/upstream/app" },
  };

  it("reports to the target project when the token may not write to the source project (a fork)", async () => {
    const { reporter, model, clients } = setup([fork()], {
      writable: [1000],
      overrides: { repositories: new MemoryCache<Repository>([upstream]) },
    });
    clients.mergeRequests.set("1000/7", 1001);
    await reporter.reconcile(key);
    expect(model.jobs.map((j) => [j.project_id, j.ref, j.status])).toEqual([
      [1000, "refs/merge-requests/7/head", "running"],
    ]);
  });

  it.each<[string, Record<string, string>, number | undefined, string]>([
    [
      "a target project that is not its Repository's (another team's merge request)",
      { "pipelinesascode.tekton.dev/target-project-id": "4242" },
      1001,
      "the run names project 4242, but its Repository's project is 1000",
    ],
    [
      "a source project the merge request does not come from",
      { "pipelinesascode.tekton.dev/source-project-id": "3003" },
      1001,
      "merge request !7 of project 1000 comes from project 1001, not 3003",
    ],
    ["a merge request GitLab does not know", {}, undefined, "merge request !7 of project 1000 was not found"],
  ])(
    "writes nothing for a run whose annotations name %s, and says so on the run",
    async (_what, extra, source, why) => {
      const { reporter, model, clients, events, metric } = setup([fork(extra)], {
        overrides: { repositories: new MemoryCache<Repository>([upstream]) },
      });
      if (source !== undefined) clients.mergeRequests.set("1000/7", source);
      await reporter.reconcile(key);
      expect(model.jobs).toEqual([]);
      expect(events.events.map((e) => [e.reason, e.message])).toEqual([
        ["GitLabTargetRefused", `tekton-lineage writes no status for this run: ${why}`],
      ]);
      expect(await metric("tekton_lineage_gitlab_problems_total")).toBe(1);
    },
  );

  it("follows PaC's application name and links when no flag says otherwise", async () => {
    const { reporter, model } = setup([attempt(1)], {
      overrides: {
        settings: {
          gitlabUrl: "",
          allowedHosts: ["gitlab.example"],
          contextTemplate: "{application} / {pipeline}",
        },
        links: {},
        pacConfig: () => readPacConfig({ "application-name": "Konflux Production Internal" }),
      },
    });
    await reporter.reconcile(key);
    expect(model.jobs.map((j) => [j.name, j.target_url])).toEqual([
      ["Konflux Production Internal / build", pacLink(1)],
    ]);
  });

  it("repairs after another user's status retired its open job (which still takes its posts)", async () => {
    const clock = { now: 0 };
    const { reporter, model, shown } = setup([attempt(1)], { clock: () => clock.now });
    await reporter.reconcile(key);
    model.postStatus("someone-token", "1001", sha, { state: "failed", name: context, description: "failed" });
    expect(shown()).toMatchObject({ status: "failed" });
    clock.now += 60_000;
    await reporter.reconcile(key);
    expect(shown()).toMatchObject({ status: "running", description: "attempt 1 running" });
    expect(model.jobs.map((j) => [j.author.username, j.status, j.retried])).toEqual([
      ["repository-bot", "canceled", true],
      ["someone-else", "failed", true],
      ["repository-bot", "running", false],
    ]);
  });
});
