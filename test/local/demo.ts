/**
 * make demo: replays the reported failure (SRVKP-9044) as Pipelines-as-Code really produces it, against
 * the local stack (the one `make run` keeps up, or a fresh one for the demo's duration), and prints what
 * the merge request shows at each step: the composite status of the commit's pipelines and their jobs.
 *
 * PaC (emulated from its source, test/fakes/pac; v0.38, as SRVKP-9044 saw it) creates the run with
 * generateName and meets a name already taken: it records the failure on the Repository and posts a bare
 * `failed` status linked to the console's root. A /retest runs attempt 2; another /retest (cancel-in-
 * progress) supersedes it with attempt 3: tekton-lineage cancels attempt 2 and, in the same write, takes
 * its report from PaC's watcher, which would post it onto the latest attempt's status (a success while
 * Tekton still calls it Unknown). tekton-lineage keeps everything on the latest attempt, to the end.
 */
import { randomBytes } from "node:crypto";
import { CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import type { PipelineRun } from "../../src/core/tekton.ts";
import { pipelineRunResource } from "../../src/core/tekton.ts";
import { lineageIdOf } from "../../src/lineage/lineage.ts";
import { attemptName } from "../../src/lineage/names.ts";
import { newPipelineRun } from "../e2e/support/pipelineruns.ts";
import { eventually } from "../e2e/support/poll.ts";
import type { PipelineView } from "../fakes/gitlab/model.ts";
import type { StartResult } from "../fakes/pac/controller.ts";
import { type MergeRequest, PacEmulator } from "../fakes/pac/emulator.ts";
import { resolvedTemplate } from "../fakes/pac/labels.ts";
import {
  demoNamespace,
  type LocalStack,
  pacConfig,
  projectId,
  runningStack,
  startLocalStack,
} from "./stack.ts";

const say = (line: string) => process.stdout.write(`${line}\n`);
const mergeRequestRef = "refs/merge-requests/42/head";

async function pipelinesOf(gitlabUrl: string, sha: string): Promise<PipelineView[]> {
  return (await (
    await fetch(`${gitlabUrl}/__fake/projects/${projectId}/commits/${sha}/pipelines`)
  ).json()) as PipelineView[];
}

/** What the merge request shows: each pipeline's composite status, and its jobs GitLab has not retried. */
function render(pipelines: PipelineView[]): string[] {
  return pipelines.flatMap((p) => [
    `  pipeline ${p.id} (${p.ref}): ${(p.status ?? "none").toUpperCase()}`,
    ...p.jobs
      .filter((j) => !j.retried)
      .map(
        (j) =>
          `    ${j.status.padEnd(8)} ${j.name}: "${j.description ?? ""}"  →  ${j.target_url || "(no link)"}`,
      ),
  ]);
}

/** Prints the merge request whenever it changes, until stopped. */
function watch(gitlabUrl: string, sha: string, started: number): { stop(): Promise<void> } {
  let last = "";
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const lines = render(await pipelinesOf(gitlabUrl, sha));
        const text = lines.join("\n");
        if (text !== last) {
          last = text;
          say(`  GitLab +${((Date.now() - started) / 1000).toFixed(1)}s, the merge request shows:\n${text}`);
        }
      } catch {
        /* the view is not reachable this instant */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}

async function post(url: string, body: object): Promise<void> {
  const response = await fetch(url, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
}

async function main() {
  // The stack `make run` keeps up (its PaC watcher reports the runs), or one of our own for the demo.
  const running = runningStack();
  const owned: LocalStack | undefined = running
    ? undefined
    : await startLocalStack({ log: (line) => say(`[demo] ${line}`) });
  const state = running ?? owned;
  if (!state) throw new Error("no local stack");
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(state.kubeconfig);
  const pac =
    owned?.pac ??
    (await new PacEmulator({
      kubeConfig,
      namespaces: [demoNamespace],
      gitlabUrl: state.gitlabUrl,
      version: "v0.38",
      config: pacConfig,
      watch: false,
    }).start());
  const sha = randomBytes(20).toString("hex");
  // The merge request's commit; the project runs GitLab CI for merge requests too, so GitLab made a
  // pipeline for refs/merge-requests/42/head, which PaC's statuses (sent without a ref) join.
  await post(`${state.gitlabUrl}/__fake/projects/${projectId}/commits`, { sha, ref: "feature/login" });
  await post(`${state.gitlabUrl}/__fake/projects/${projectId}/pipelines`, { sha, ref: mergeRequestRef });
  const mr: MergeRequest = {
    namespace: demoNamespace,
    repository: "demo-repo",
    sha,
    number: 42,
    sourceProjectId: projectId,
    targetProjectId: projectId,
  };
  const template = (durationMs: number, cancelInProgress = false) =>
    resolvedTemplate("build", {
      annotations: {
        "demo.tekton-lineage.io/duration-ms": String(durationMs),
        ...(cancelInProgress ? { "pipelinesascode.tekton.dev/cancel-in-progress": "true" } : {}),
      },
    });
  const created = (result: StartResult | undefined): PipelineRun => {
    if (!result || !("created" in result))
      throw new Error(`PaC could not create the run: ${JSON.stringify(result)}`);
    return result.created;
  };
  const allGreen = async () => {
    const pipelines = await pipelinesOf(state.gitlabUrl, sha);
    return (
      pipelines.length > 0 &&
      pipelines.every((p) => p.status === "success") &&
      pipelines.every((p) =>
        p.jobs.every(
          (j) => j.retried || (j.status !== "failed" && j.target_url !== pacConfig["custom-console-url"]),
        ),
      )
    );
  };
  const started = Date.now();
  const timeline = watch(state.gitlabUrl, sha, started);
  const step = (text: string) => say(`\n${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s  ${text}`);
  try {
    say(
      `Merge request !42, commit ${sha.slice(0, 12)}, pipeline "build"; Pipelines-as-Code ${pac.version} (emulated).`,
    );

    step("PaC creates attempt 1 with generateName; the name it gets is already taken.");
    const lineageKey = `pac/${demoNamespace}/demo-repo/pull_request/42/${sha}/build`;
    await kubeConfig.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      ...pipelineRunResource,
      namespace: demoNamespace,
      body: newPipelineRun({
        namespace: demoNamespace,
        name: attemptName("build", lineageIdOf(lineageKey), 1),
        labels: { "tekton-lineage.io/webhook": "disabled" },
      }),
    });
    const [first] = await pac.open(mr, [template(60_000)]);
    say(`        PaC: ${first && "failed" in first ? first.failed.replace(/\s+/g, " ").trim() : "created"}`);
    say(
      `        PaC records it on the Repository and posts "${pac.applicationName}" failed, linked to the console root.`,
    );
    await eventually("tekton-lineage's correction of PaC's bare status", async () =>
      (await pipelinesOf(state.gitlabUrl, sha)).some((p) =>
        p.jobs.some(
          (j) => !j.retried && j.name === pac.applicationName && j.description?.startsWith("attempt 1"),
        ),
      ),
    );

    step("/retest: attempt 2 is admitted, created and runs.");
    const second = created((await pac.retest(mr, [template(60_000)]))[0]);
    say(
      `        created ${second.metadata.name} (attempt ${second.metadata.annotations?.["tekton-lineage.io/attempt"]})`,
    );
    await eventually("attempt 2 to run in GitLab", async () =>
      (await pipelinesOf(state.gitlabUrl, sha)).some((p) =>
        p.jobs.some(
          (j) => !j.retried && j.status === "running" && j.target_url?.endsWith(second.metadata.name ?? "?"),
        ),
      ),
    );

    step("/retest again while attempt 2 runs (cancel-in-progress): attempt 3 supersedes it.");
    const third = created((await pac.retest(mr, [template(4000, true)]))[0]);
    say(
      `        created ${third.metadata.name} (attempt ${third.metadata.annotations?.["tekton-lineage.io/attempt"]}, supersedes ${third.metadata.annotations?.["tekton-lineage.io/supersedes"]})`,
    );
    say(
      "        tekton-lineage cancels attempt 2 and takes its report from PaC's watcher: GitLab stays on attempt 3.",
    );
    await eventually("every pipeline of the commit to be green", allGreen, { timeoutMs: 60_000 });
    step("Done: every pipeline of the commit is green; no job failed; no link to the console's root.");
    for (const line of render(await pipelinesOf(state.gitlabUrl, sha))) say(line);
  } finally {
    await timeline.stop();
    if (!owned) await pac.stop();
    await owned?.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`make demo: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
