import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "./support/poll.ts";
import { bedProject, startTestBed, type TestBed } from "./testbed/bed.ts";
import { openMergeRequest } from "./testbed/repo-content.ts";

const log = (line: string) => process.stderr.write(`[testbed] ${line}\n`);

describe.each(["v0.37.0", "v0.50.0"])("Pipelines-as-Code %s, the real binary", (version) => {
  let bed: TestBed;
  beforeAll(async () => {
    bed = await startTestBed({ pacVersion: version, log });
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it("runs a merge request's pipeline through Tekton and reports it green", async () => {
    const { sha, iid } = openMergeRequest(bed.gitlab, [{ name: "build" }]);
    const answer = await bed.hooks.mergeRequest(bedProject.id, iid);
    log(`PaC answered ${answer.status} ${answer.body}`);
    await eventually(
      "the merge request green",
      () => {
        const pipelines = bed.gitlab.model.pipelinesOf(String(bedProject.id), sha);
        return pipelines.length > 0 && pipelines.every((p) => p.status === "success");
      },
      { timeoutMs: 60_000 },
    ).catch((error) => {
      log(JSON.stringify(bed.gitlab.requests.map((r) => `${r.method} ${r.path} ${r.status}`)));
      throw error;
    });
    expect(true).toBe(true);
  });
});
