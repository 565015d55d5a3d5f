import {
  AdmissionregistrationV1Api,
  CustomObjectsApi,
  type V1ValidatingAdmissionPolicy,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PipelineRun, pipelineRunResource, succeededCondition } from "../../src/core/tekton.ts";
import type { Job } from "../fakes/gitlab/model.ts";
import { GreenWatch, refusedAfterTektonLineage, type GreenWatch as Watch } from "./support/green-watch.ts";
import { eventually } from "./support/poll.ts";
import { application, bedProject, consoleRoot, startTestBed, type TestBed } from "./testbed/bed.ts";
import { RunObserver } from "./testbed/observe.ts";
import { openMergeRequest, type PipelineFile, pushToMergeRequest } from "./testbed/repo-content.ts";

/**
 * The claims tekton-lineage makes about Pipelines-as-Code, judged by PaC itself: its controller and
 * watcher of v0.37.0 and of v0.50.0, built from their modules, with Tekton's own controller running the
 * runs on kwok's node (testbed/). GitLab is the fake that judges like GitLab and sends PaC GitLab's
 * webhooks. Every scenario samples what each merge request shows every 100 ms (GreenWatch) and fails on a
 * success while the latest attempt of some pipeline of the commit had not succeeded.
 */
const log = (line: string) => process.stderr.write(`[testbed] ${line}\n`);
const named = `${application} / build`;

describe.each(["v0.37.0", "v0.50.0"])("Pipelines-as-Code %s, the real binaries", (version) => {
  let bed: TestBed;
  let runs: RunObserver;
  const watches: Watch[] = [];
  const pipelinesOf = (sha: string, projectId = bedProject.id) =>
    bed.gitlab.model.pipelinesOf(String(projectId), sha);
  const shown = (sha: string, name = named, projectId = bedProject.id): Job | undefined =>
    pipelinesOf(sha, projectId)
      .flatMap((p) => p.jobs)
      .filter((j) => j.name === name && !j.retried)
      .sort((a, b) => b.id - a.id)[0];
  const watch = (
    sha: string,
    projectId = bedProject.id,
    neverCreated: { pipeline: string; attempt: number }[] = [],
  ) => {
    const green = new GreenWatch({
      gitlab: bed.gitlab,
      kubeConfig: bed.kubeConfig,
      namespace: bed.namespace,
      projectId,
      sha,
      neverCreated: () => neverCreated,
    }).start();
    watches.push(green);
    return green;
  };
  const green = (sha: string, projectId = bedProject.id) =>
    eventually(
      `merge request of ${sha.slice(0, 8)} green`,
      () => {
        const pipelines = pipelinesOf(sha, projectId);
        return pipelines.length > 0 && pipelines.every((p) => p.status === "success");
      },
      { timeoutMs: 60_000 },
    ).catch((error: Error) => {
      const jobs = pipelinesOf(sha, projectId).flatMap((p) =>
        p.jobs.map(
          (j) => `${j.name} ${j.status}${j.retried ? " (retried)" : ""} "${j.description}" ${j.target_url}`,
        ),
      );
      const seen = runs
        .runsOf(sha)
        .map(
          (r) =>
            `${r.metadata.name} ${r.spec?.status ?? ""} ${runs.reasonOf(r) ?? "-"} state=${r.metadata.annotations?.["pipelinesascode.tekton.dev/state"]}`,
        );
      throw new Error(`${error.message}\njobs:\n${jobs.join("\n")}\nruns:\n${seen.join("\n")}`);
    });
  const runOf = (sha: string, attempt: number) =>
    eventually(`attempt ${attempt} of ${sha.slice(0, 8)} to exist`, () =>
      runs.runsOf(sha).find((r) => r.metadata.annotations?.["tekton-lineage.io/attempt"] === String(attempt)),
    );
  const fresh = async (run: PipelineRun) =>
    (await bed.kubeConfig.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      ...pipelineRunResource,
      namespace: bed.namespace,
      name: run.metadata.name ?? "",
    })) as PipelineRun;
  const reasonOf = async (run: PipelineRun) => succeededCondition(await fresh(run))?.reason;
  const linkOf = (run: PipelineRun) => `${consoleRoot}/ns/${bed.namespace}/pipelinerun/${run.metadata.name}`;
  /**
   * What tekton-lineage would have caused PaC to write for runs it cancelled or took the report of: PaC's
   * final statuses of them, and PaC's merge-request notes about them, after `since` (ms) — and PaC's posts
   * GitLab refused right after a status tekton-lineage wrote (each a note before PaC v0.41).
   */
  const caused = (sha: string, quiet: PipelineRun[], since: number) => {
    const links = new Set(quiet.map(linkOf));
    const finals = ["success", "failed", "canceled", "cancelled"];
    return {
      finalReports: bed.gitlab.requests
        .filter((r) => r.at > since && r.method === "POST" && r.path.endsWith(`/statuses/${sha}`))
        .map((r) => r.body as { state?: string; target_url?: string; description?: string })
        .filter(
          (b) =>
            links.has(b.target_url ?? "") &&
            finals.includes(b.state ?? "") &&
            !/^attempt \d/.test(b.description ?? ""),
        ),
      notes: bed.gitlab.model.notes.filter(
        (n) => [...links].some((link) => n.body.includes(link)) && (noteTimes.get(n.id) ?? 0) > since,
      ),
      refused: refusedAfterTektonLineage(bed.gitlab, sha),
    };
  };
  const noteTimes = new Map<number, number>();
  /** Every status post of a commit, in order: what a failure to explain needs. */
  const postsOf = (sha: string) =>
    bed.gitlab.requests
      .filter((r) => r.method === "POST" && r.path.endsWith(`/statuses/${sha}`))
      .map((r) => {
        const b = r.body as { state?: string; description?: string; target_url?: string };
        return `${r.at} ${r.status} ${b.state} "${b.description}" ${b.target_url?.split("/").at(-1)}`;
      })
      .join("\n");
  const noFalseGreen = async (...greens: Watch[]) => {
    for (const g of greens) {
      await g.stop();
      expect(g.falseGreens).toEqual([]);
      expect(g.samples).toBeGreaterThan(0);
    }
  };

  beforeAll(async () => {
    bed = await startTestBed({ pacVersion: version, log, lineageArgs: ["--orphan-grace=3s"] });
    runs = await new RunObserver(bed.kubeConfig, bed.namespace).start();
    // When each merge-request note was written (the fake records requests with their time).
    bed.gitlab.onRequest((r) => {
      if (r.method === "POST" && /\/notes$/.test(r.path) && r.status === 201)
        for (const n of bed.gitlab.model.notes) if (!noteTimes.has(n.id)) noteTimes.set(n.id, r.at);
    });
  });
  afterAll(async () => {
    for (const w of watches) await w.stop();
    runs?.stop();
    await bed?.stop();
  });

  it("the seed: PaC's create refused after admission, then /retest — the failure in the API server's words, then green", async () => {
    const pipelines: PipelineFile[] = [{ name: "build" }];
    const { sha, iid } = openMergeRequest(bed.gitlab, pipelines);
    const refusal = await refuseFirstAttempt(bed, sha);
    const g = watch(sha, bedProject.id, [{ pipeline: "build", attempt: 1 }]);
    expect((await bed.hooks.mergeRequest(bedProject.id, iid)).status).toBe(202);
    // v0.37 names the failure by the application alone (the bare status); v0.39 and later by the pipeline.
    const failureName = version === "v0.37.0" ? application : named;
    const failure = await eventually("the failure, in the API server's words", () => {
      const job = shown(sha, failureName);
      return job?.description?.startsWith("attempt 1 could not be created: ") ? job : undefined;
    });
    expect(failure).toMatchObject({ status: "failed" });
    // The API server's words, as far as GitLab's 255 characters go.
    expect(failure.description).toContain(`is forbidden: ValidatingAdmissionPolicy '${refusal}'`);
    expect(failure.target_url).not.toBe(consoleRoot);
    expect((await bed.hooks.comment(bedProject.id, iid, "/retest")).status).toBe(202);
    const second = await runOf(sha, 2);
    await green(sha);
    expect(shown(sha)?.target_url).toBe(
      `${consoleRoot}/ns/${bed.namespace}/pipelinerun/${second.metadata.name}`,
    );
    await noFalseGreen(g);
  });

  it("a supersede: /retest while attempt 1 runs (PaC's cancel-in-progress and tekton-lineage's), then a new push — never a false green", async () => {
    const pipelines: PipelineFile[] = [{ name: "build", cancelInProgress: true, hold: true }];
    const { sha, iid } = openMergeRequest(bed.gitlab, pipelines);
    const g1 = watch(sha);
    await bed.hooks.mergeRequest(bedProject.id, iid);
    const first = await runOf(sha, 1);
    await eventually("attempt 1 running", async () => (await reasonOf(first)) === "Running");
    await bed.hooks.comment(bedProject.id, iid, "/retest");
    const second = await runOf(sha, 2);
    const secondSeen = Date.now();
    await eventually("attempt 1 cancelled", async () => (await reasonOf(first))?.startsWith("Cancelled"));
    // A new push while attempt 2 runs: PaC cancels the older commit's run; the merge request follows the new.
    const next = pushToMergeRequest(bed.gitlab, iid, [{ name: "build", cancelInProgress: true }]);
    const g2 = watch(next);
    await bed.hooks.mergeRequest(bedProject.id, iid, { oldrev: sha });
    await green(next);
    await eventually("PaC to cancel the older commit's attempt 2", async () =>
      (await reasonOf(second))?.startsWith("Cancelled"),
    );
    // Attempt 1, superseded by attempt 2: its report is tekton-lineage's, and PaC wrote nothing about it.
    log(`posts of ${sha.slice(0, 8)}:\n${postsOf(sha)}`);
    expect(caused(sha, [first], secondSeen), postsOf(sha)).toEqual({
      finalReports: [],
      notes: [],
      refused: [],
    });
    await noFalseGreen(g1, g2);
    expect(pipelinesOf(sha).map((p) => p.status)).not.toContain("success");
  });

  it.each([
    ["PaC's own queue (concurrency_limit: 1)", "pac-queue", { concurrencyLimit: 1 }],
    [
      "tekton-lineage's queue (opted in, limit 1)",
      "lineage-queue",
      { annotations: { "tekton-lineage.io/queue": "enabled", "tekton-lineage.io/concurrency-limit": "1" } },
    ],
  ] as const)(
    "the queue — %s: three merge requests at once, one at a time, all green",
    async (_what, name, extra) => {
      const { projectId } = await bed.addRepository(name, extra);
      const requests = [0, 1, 2].map(() => openMergeRequest(bed.gitlab, [{ name: "build" }], projectId));
      const gs = requests.map((r) => watch(r.sha, projectId));
      await Promise.all(requests.map((r) => bed.hooks.mergeRequest(projectId, r.iid)));
      for (const r of requests) await green(r.sha, projectId);
      expect(runs.mostAtOnce.get(name)).toBe(1);
      // How long PaC's watcher takes from a run's end to its final status (the emulator's reportDelayMs).
      const delays = requests.flatMap((r) =>
        runs.runsOf(r.sha).flatMap((run) => {
          const ended = runs.doneAt.get(run.metadata.name ?? "");
          const posted = bed.gitlab.requests.find((q) => {
            const body = q.body as { target_url?: string; description?: string };
            return (
              q.method === "POST" &&
              body.target_url === linkOf(run) &&
              body.description === "successfully validated your commit"
            );
          });
          return ended !== undefined && posted ? [posted.at - ended] : [];
        }),
      );
      log(
        `PaC ${version}'s watcher posted final statuses ${delays.sort((a, b) => a - b).join(", ")} ms after the runs ended (${name})`,
      );
      await noFalseGreen(...gs);
    },
  );

  it("an orphan (the answer to PaC's create lost): adopted where it can run, else cancelled and said why", async () => {
    // Held, as a clone is slow: the run is still running when tekton-lineage finds it orphaned.
    const { sha, iid } = openMergeRequest(bed.gitlab, [{ name: "build", hold: true }]);
    const g = watch(sha);
    bed.proxy.loseNextAnswer((method, path) => method === "POST" && /\/pipelineruns(\?|$)/.test(path));
    await bed.hooks.mergeRequest(bedProject.id, iid);
    const run = await runOf(sha, 1);
    if (version === "v0.37.0") {
      // PaC v0.37 deleted the run's git-auth Secret when its create "failed": the run could never clone.
      await eventually("the orphan cancelled", async () => (await reasonOf(run)) === "Cancelled");
      const cancelledAt = Date.now();
      const job = await eventually("GitLab to say why", () => {
        const shownNow = shown(sha);
        return shownNow?.status === "canceled" && shownNow.description?.includes("could not clone")
          ? shownNow
          : undefined;
      });
      expect(job.description).toContain("git-auth Secret");
      expect(caused(sha, [run], cancelledAt - 1000)).toEqual({ finalReports: [], notes: [], refused: [] });
    } else {
      // PaC v0.50's watcher makes the Secret of a run it takes over: adopted, it runs and reports.
      await eventually(
        "the orphan handed over to PaC's watcher",
        async () =>
          (await fresh(run)).metadata.annotations?.["pipelinesascode.tekton.dev/state"] !== undefined,
      );
      await bed.release(run.metadata.name ?? "");
      await green(sha);
      // The watcher made the Secret (and says so on the run); it deletes it again once the run is done.
      const adopted = await fresh(run);
      expect(adopted.metadata.annotations?.["pipelinesascode.tekton.dev/secret-created"]).toBe("true");
    }
    await noFalseGreen(g);
  });
});

/**
 * A ValidatingAdmissionPolicy that refuses the first attempt of the commit's runs — after tekton-lineage's
 * admission, as a quota would. Returns its name, which the API server's words begin with.
 */
async function refuseFirstAttempt(bed: TestBed, sha: string): Promise<string> {
  const words =
    "exceeded quota: pipelineruns, requested: count/pipelineruns.tekton.dev=1, used: 50, limited: 50";
  const name = `refuse-first-${sha.slice(0, 8)}`;
  const api = bed.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const policy: V1ValidatingAdmissionPolicy = {
    metadata: { name },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: ["tekton.dev"],
            apiVersions: ["v1"],
            operations: ["CREATE"],
            resources: ["pipelineruns"],
          },
        ],
      },
      validations: [
        {
          expression: `!(object.metadata.?annotations[?'pipelinesascode.tekton.dev/sha'].orValue('') == '${sha}' && object.metadata.?annotations[?'tekton-lineage.io/attempt'].orValue('') == '1')`,
          message: words,
        },
      ],
    },
  };
  await api.createValidatingAdmissionPolicy({ body: policy });
  await api.createValidatingAdmissionPolicyBinding({
    body: { metadata: { name }, spec: { policyName: name, validationActions: ["Deny"] } },
  });
  // The API server enforces a policy once its own informer has it: a dry run tells when.
  const probe = {
    apiVersion: "tekton.dev/v1",
    kind: "PipelineRun",
    metadata: {
      generateName: "probe-",
      labels: { "tekton-lineage.io/webhook": "disabled" },
      annotations: { "pipelinesascode.tekton.dev/sha": sha, "tekton-lineage.io/attempt": "1" },
    },
    spec: { pipelineSpec: { tasks: [] } },
  };
  await eventually("the policy to be enforced", () =>
    bed.kubeConfig
      .makeApiClient(CustomObjectsApi)
      .createNamespacedCustomObject({
        ...pipelineRunResource,
        namespace: bed.namespace,
        body: probe,
        dryRun: "All",
      })
      .then(
        () => false,
        (error: { body?: unknown }) => String(error.body).includes(`ValidatingAdmissionPolicy '${name}'`),
      ),
  );
  return name;
}
