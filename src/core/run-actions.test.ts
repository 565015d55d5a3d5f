import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../observability/logger.ts";
import { kubeConfigFor, serve, type TestServer } from "../testing/http.ts";
import { pipelineRun } from "../testing/runs.ts";
import { TerminalError } from "./controller.ts";
import { RunActions } from "./run-actions.ts";

/** An API server that answers every PATCH of a PipelineRun with the status its name asks for. */
let server: TestServer;

beforeAll(async () => {
  server = await serve((req, res) => {
    const code = Number(/\/pipelineruns\/answer-(\d+)/.exec(req.url ?? "")?.[1] ?? 500);
    req.resume();
    req.on("end", () => {
      res.writeHead(code, { "content-type": "application/json" });
      const status = {
        kind: "Status",
        apiVersion: "v1",
        status: code < 300 ? "Success" : "Failure",
        code,
        message:
          code === 422 ? "metadata.annotations: Too long: must have at most 262144 bytes" : `answer ${code}`,
      };
      res.end(JSON.stringify(code < 300 ? { metadata: {} } : status));
    });
  });
});

afterAll(() => server.close());

function actions(): RunActions {
  const kc = kubeConfigFor(server.url);
  return new RunActions(kc, silentLogger(), () => "signature");
}

describe("RunActions.annotate", () => {
  it.each<[number, string]>([
    [200, "done"],
    [404, "gone"],
    [403, "throws: a person may grant the right, so it is retried"],
    [500, "throws: retried with backoff"],
    [400, "terminal"],
    [422, "terminal"],
  ])("answered %i: %s", async (code, want) => {
    const run = pipelineRun({ name: `answer-${code}`, namespace: "ns" });
    const result = actions()
      .annotate(run, { "tekton-lineage.io/gitlab-pipeline-id": "7" })
      .then(
        (outcome) => ({ outcome }),
        (error: unknown) => ({ error }),
      );
    const got = await result;
    if (want === "done" || want === "gone") return expect(got).toEqual({ outcome: want });
    expect(got).toHaveProperty("error");
    const error = (got as { error: unknown }).error;
    expect(error instanceof TerminalError).toBe(want === "terminal");
    if (want === "terminal")
      expect(error).toMatchObject({
        event: { namespace: "ns", objectName: `answer-${code}`, reason: "AnnotationRefused" },
        message: expect.stringContaining("the API server refused tekton-lineage's annotations"),
      });
  });
});
