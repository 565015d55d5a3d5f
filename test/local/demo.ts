/**
 * make demo: replays the reported failure against the local stack (the one `make run` keeps up, or a
 * fresh one for the demo's duration) and prints the merge request's GitLab status timeline as it changes:
 * a generateName collision fails attempt 1 and PaC reports a bare "failed" linked to the console root;
 * a retest (attempt 2) runs; another retest (attempt 3) supersedes it; the status follows, to the end.
 */
import { randomBytes } from "node:crypto";
import { Commits } from "@gitbeaker/rest";
import { CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import type { PipelineRun } from "../../src/core/tekton.ts";
import { pipelineRunResource } from "../../src/core/tekton.ts";
import { apiFailure } from "../../src/kube/api-errors.ts";
import { lineageIdOf } from "../../src/lineage/lineage.ts";
import { attemptName } from "../../src/lineage/names.ts";
import type { Job } from "../e2e/support/gitlab.ts";
import { newPipelineRun, pacPipelineRun } from "../e2e/support/pipelineruns.ts";
import { eventually } from "../e2e/support/poll.ts";
import {
  demoNamespace,
  type LocalStack,
  pacToken,
  projectId,
  runningStack,
  startLocalStack,
} from "./stack.ts";

const say = (line: string) => process.stdout.write(`${line}\n`);
const context = "Pipelines as Code CI / build";

/** Prints every change of the commit's statuses, until stopped. */
function watchTimeline(gitlabUrl: string, sha: string, started: number): { stop(): Promise<void> } {
  const seen = new Map<number, string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const jobs = (await (
          await fetch(`${gitlabUrl}/__fake/projects/${projectId}/commits/${sha}/statuses`)
        ).json()) as Job[];
        for (const job of jobs.filter((j) => j.name === context)) {
          const line = `${job.status.padEnd(8)} ${job.retried ? "(retried) " : ""}${job.description ?? ""}  →  ${job.target_url || "(no link)"}`;
          if (seen.get(job.id) === line) continue;
          seen.set(job.id, line);
          say(`  GitLab  +${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s  #${job.id}  ${line}`);
        }
      } catch {
        /* GitLab view not reachable this instant */
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

async function main() {
  // The stack `make run` keeps up, or one of our own for the demo's duration.
  const running = runningStack();
  const owned: LocalStack | undefined = running
    ? undefined
    : await startLocalStack({ log: (line) => say(`[demo] ${line}`) });
  const state = running ?? owned;
  if (!state) throw new Error("no local stack");
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(state.kubeconfig);
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const create = (run: PipelineRun) =>
    api.createNamespacedCustomObject({
      ...pipelineRunResource,
      namespace: demoNamespace,
      body: run,
    }) as Promise<PipelineRun>;
  const pac = new Commits({ host: state.gitlabUrl, token: pacToken });
  const sha = randomBytes(20).toString("hex");
  const run = (extra: Record<string, string> = {}) =>
    pacPipelineRun({ namespace: demoNamespace, sha, repository: "demo-repo", extraAnnotations: extra });
  const started = Date.now();
  const timeline = watchTimeline(state.gitlabUrl, sha, started);
  const step = (text: string) => say(`\n${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s  ${text}`);
  try {
    say(`Merge request !42, commit ${sha.slice(0, 12)}, pipeline "build" (status "${context}").`);

    step(
      "PaC creates attempt 1 with generateName; the name it gets is already taken (a generateName collision).",
    );
    const lineageKey = `pac/${demoNamespace}/demo-repo/pull_request/42/${sha}/build`;
    const taken = attemptName("build", lineageIdOf(lineageKey), 1);
    await create(
      newPipelineRun({
        namespace: demoNamespace,
        name: taken,
        labels: { "tekton-lineage.io/webhook": "disabled" },
      }),
    );
    const failure = await create(run()).then(
      () => undefined,
      (error: unknown) => apiFailure(error),
    );
    say(`        the API server answers ${failure?.code}: ${failure?.message}`);

    step('PaC reports it its way: a bare "failed", linked to the console root.');
    await pac.editStatus(projectId, sha, "failed", {
      name: context,
      ref: "feature/login",
      targetUrl: "https://console.example/",
      description: "failed",
    });
    await eventually("tekton-lineage's report of attempt 1", async () => {
      const jobs = (await (
        await fetch(`${state.gitlabUrl}/__fake/projects/${projectId}/commits/${sha}/statuses`)
      ).json()) as Job[];
      return jobs.some((j) => j.description?.startsWith("attempt 1"));
    });

    step("/retest: attempt 2 is admitted, created and runs.");
    const second = await create(run({ "demo.tekton-lineage.io/duration-ms": "60000" }));
    say(
      `        created ${second.metadata.name} (attempt ${second.metadata.annotations?.["tekton-lineage.io/attempt"]})`,
    );
    await new Promise((r) => setTimeout(r, 2500));

    step("/retest again while attempt 2 runs: attempt 3 supersedes it (cancel-in-progress).");
    const third = await create(
      run({
        "pipelinesascode.tekton.dev/cancel-in-progress": "true",
        "demo.tekton-lineage.io/duration-ms": "4000",
      }),
    );
    say(
      `        created ${third.metadata.name} (attempt ${third.metadata.annotations?.["tekton-lineage.io/attempt"]}, supersedes ${third.metadata.annotations?.["tekton-lineage.io/supersedes"]})`,
    );
    await eventually(
      "attempt 3 to succeed in GitLab",
      async () => {
        const jobs = (await (
          await fetch(`${state.gitlabUrl}/__fake/projects/${projectId}/commits/${sha}/statuses`)
        ).json()) as Job[];
        return jobs.some(
          (j) => !j.retried && j.status === "success" && j.description?.startsWith("attempt 3"),
        );
      },
      { timeoutMs: 60_000 },
    );
    await new Promise((r) => setTimeout(r, 500));
    step("Done: the merge request shows attempt 3, its link and what happened to the attempts before it.");
  } finally {
    await timeline.stop();
    await owned?.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`make demo: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
