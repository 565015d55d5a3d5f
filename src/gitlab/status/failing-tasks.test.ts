import { describe, expect, it } from "vitest";
import type { PipelineRun } from "../../core/tekton.ts";
import { KubeApiError } from "../../kube/kube-http.ts";
import { FailingTasks, type ListTaskRuns } from "./failing-tasks.ts";

const failedTaskRun = (task: string, completionTime: string) => ({
  metadata: { name: `tr-${task}`, labels: { "tekton.dev/pipelineTask": task } },
  status: { conditions: [{ type: "Succeeded", status: "False" }], completionTime },
});
const run = (resourceVersion?: string): PipelineRun => ({
  metadata: { name: "build-1", namespace: "ns", uid: "u1", ...(resourceVersion ? { resourceVersion } : {}) },
});

describe("FailingTasks", () => {
  it.each([
    {
      name: "asks the watch cache as of the run's own version, and names the task that failed first",
      version: "42",
      answers: [
        {
          items: [
            failedTaskRun("test", "2026-12-06T00:00:02Z"),
            failedTaskRun("lint", "2026-12-06T00:00:01Z"),
          ],
        },
      ],
      asked: [{ resourceVersion: "42", resourceVersionMatch: "NotOlderThan" }],
      task: "lint",
    },
    {
      name: "lists plainly when the cache cannot answer as of that version",
      version: "42",
      answers: [
        new KubeApiError(504, "", "Too large resource version"),
        { items: [failedTaskRun("build", "t")] },
      ],
      asked: [{ resourceVersion: "42", resourceVersionMatch: "NotOlderThan" }, {}],
      task: "build",
    },
    {
      name: "lists plainly a run without a version",
      version: undefined,
      answers: [{ items: [failedTaskRun("build", "t")] }],
      asked: [{}],
      task: "build",
    },
    {
      name: "leaves the task out where TaskRuns cannot be listed, without asking twice",
      version: "42",
      answers: [new KubeApiError(403, "", "forbidden")],
      asked: [{ resourceVersion: "42", resourceVersionMatch: "NotOlderThan" }],
      task: undefined,
    },
  ])("$name", async ({ version, answers, asked, task }) => {
    const queries: object[] = [];
    const tasks = new FailingTasks(async (namespace, params) => {
      const { resourceVersion, resourceVersionMatch } = params;
      queries.push({ ...(resourceVersion ? { resourceVersion, resourceVersionMatch } : {}) });
      expect(namespace).toBe("ns");
      expect(params.labelSelector).toBe("tekton.dev/pipelineRun=build-1");
      const answer = answers.shift();
      if (answer instanceof Error) throw answer;
      return answer as Awaited<ReturnType<ListTaskRuns>>;
    });
    expect(await tasks.of(run(version))).toBe(task);
    expect(await tasks.of(run(version))).toBe(task);
    expect(queries).toEqual(asked);
  });
});
