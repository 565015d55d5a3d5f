import { randomBytes } from "node:crypto";
import { type CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { type PipelineRun, pipelineRunResource } from "../../src/core/tekton.ts";
import { inParallel } from "../../test/e2e/support/load.ts";
import { pacPipelineRun } from "../../test/e2e/support/pipelineruns.ts";
import type { FakeGitLab, RecordedRequest } from "../../test/fakes/gitlab/server.ts";

export const benchProject = 1001;

/** Latencies of reports, ms: from the request that changed the condition, and from its answer. */
export interface ReportLatencies {
  fromRequest: number[];
  fromAnswer: number[];
}

/**
 * Runs `attempts` merge-request runs through a namespace, 10 at a time: each is created, made Running
 * (and waited for until GitLab shows it running), then ended — half succeed, half fail — and the time
 * until GitLab shows the end is measured, from the condition write's request and from its answer. Whoever
 * reports (tekton-lineage, or the floor) is watching the namespace already; `gaveUp` rejects when the
 * reporter knows no report will come (the measurement then fails instead of waiting forever).
 */
export async function measureReports(
  api: CustomObjectsApi,
  gitlab: FakeGitLab,
  namespace: string,
  attempts: number,
  gaveUp: Promise<never> = new Promise<never>(() => {}),
): Promise<ReportLatencies> {
  const waiting = new Map<string, { state: string; resolve: (at: number) => void }>();
  const stopListening = gitlab.onRequest((request: RecordedRequest) => {
    const sha = /statuses\/([0-9a-f]+)$/.exec(request.path)?.[1];
    const state = (request.body as { state?: string } | undefined)?.state;
    const waiter = sha ? waiting.get(sha) : undefined;
    if (request.method === "POST" && request.status === 201 && waiter && state === waiter.state) {
      waiting.delete(sha ?? "");
      waiter.resolve(performance.now());
    }
  });
  const condition = (name: string, status: string, reason: string) =>
    api.patchNamespacedCustomObjectStatus(
      {
        ...pipelineRunResource,
        namespace,
        name,
        body: { status: { conditions: [{ type: "Succeeded", status, reason, message: reason }] } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  const latencies: ReportLatencies = { fromRequest: [], fromAnswer: [] };
  try {
    await reportEach();
  } finally {
    stopListening();
  }
  return latencies;

  async function reportEach() {
    await inParallel(attempts, 10, async () => {
      // A commit on the merge request's branch, known to GitLab (it refuses statuses of unknown commits).
      const sha = randomBytes(20).toString("hex");
      gitlab.model.addCommit(benchProject, sha, "feature/login");
      const running = new Promise<number>((resolve) => waiting.set(sha, { state: "running", resolve }));
      const run = (await api.createNamespacedCustomObject({
        ...pipelineRunResource,
        namespace,
        body: pacPipelineRun({ namespace, sha, repository: "demo-repo" }),
      })) as PipelineRun;
      const name = run.metadata.name ?? "";
      await condition(name, "Unknown", "Running");
      await Promise.race([running, gaveUp]);
      const succeed = Math.random() < 0.5;
      const reported = new Promise<number>((resolve) =>
        waiting.set(sha, { state: succeed ? "success" : "failed", resolve }),
      );
      const changed = performance.now();
      await condition(name, succeed ? "True" : "False", succeed ? "Succeeded" : "Failed");
      const answered = performance.now();
      const at = await Promise.race([reported, gaveUp]);
      latencies.fromRequest.push(at - changed);
      latencies.fromAnswer.push(Math.max(0, at - answered));
    });
  }
}
