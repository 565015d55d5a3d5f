import type { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { isDone, type PipelineRun, succeededCondition } from "../src/core/tekton.ts";
import type { FakeGitLab } from "../test/fakes/gitlab/server.ts";
import type { BenchEnvironment } from "./lib/environment.ts";
import { runInformer } from "./lib/promotions.ts";
import { benchProject, measureReports, type ReportLatencies } from "./lib/reports.ts";

const shaKey = "pipelinesascode.tekton.dev/sha";

/**
 * The floor of a GitLab report on this machine, in the same run: a bare watch of the runs that, when a
 * run's condition changes, posts its state to GitLab — one request, nothing read first, no lookup of the
 * failed task — measured exactly as tekton-lineage's reports are (measureReports). It is what the API
 * server, the watch hop and one GitLab post cost here.
 */
export async function reportFloor(
  env: BenchEnvironment,
  core: CoreV1Api,
  api: CustomObjectsApi,
  gitlab: FakeGitLab,
  attempts: number,
): Promise<ReportLatencies> {
  const namespace = "bench-gitlab-floor";
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const informer = runInformer(env.kubeConfig, namespace, "bench-gitlab-floor");
  const posted = new Map<string, string>();
  let giveUp: (error: Error) => void = () => {};
  const gaveUp = new Promise<never>((_, reject) => {
    giveUp = reject;
  });
  // Seen by the measurement's races; a failure after it ended is not an unhandled rejection.
  gaveUp.catch(() => {});
  const post = async (run: PipelineRun, state: string) => {
    const sha = run.metadata.annotations?.[shaKey] ?? "";
    const response = await fetch(`${gitlab.url}/api/v4/projects/${benchProject}/statuses/${sha}`, {
      method: "POST",
      headers: { "content-type": "application/json", "private-token": "glpat-bench" },
      body: JSON.stringify({ state, name: "floor / build", description: state }),
    });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`GitLab answered the floor's post ${response.status}`);
  };
  informer.onChange((run) => {
    const condition = succeededCondition(run);
    if (!condition) return;
    const state = !isDone(run) ? "running" : condition.status === "True" ? "success" : "failed";
    const key = `${run.metadata.name}`;
    if (posted.get(key) === state) return;
    posted.set(key, state);
    post(run, state).catch((error: Error) => giveUp(error));
  });
  informer.start();
  await informer.whenSynced();
  try {
    return await measureReports(api, gitlab, namespace, attempts, gaveUp);
  } finally {
    informer.stop();
  }
}
