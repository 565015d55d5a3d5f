import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { e2eContext } from "./support/context.ts";
import { createReview } from "./support/https-post.ts";
import { newPipelineRun } from "./support/pipelineruns.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";

/**
 * A flood: 500 reviews of 1 MiB each, all at once, at one webhook process. It must answer every one (200,
 * or 429 for those it sheds before reading their body), stay within the Deployment's memory limit
 * (384 MiB), and keep serving.
 */
let lineage: LineageProcess;
const imageEnvironment = {
  NODE_OPTIONS: "--max-semi-space-size=2 --max-old-space-size=256",
  MALLOC_ARENA_MAX: "2",
};
const memoryLimitBytes = 384 * 1024 * 1024;

beforeAll(async () => {
  // As the image runs it (Dockerfile: NODE_OPTIONS, MALLOC_ARENA_MAX).
  lineage = await startTektonLineage({ role: "webhook", logLevel: "info", env: imageEnvironment });
});

afterAll(async () => {
  await lineage?.stop();
});

/** Peak resident memory of a process so far (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmHWM:"));
  return Number(/(\d+)/.exec(line ?? "")?.[1] ?? 0) * 1024;
}

function post(agent: Agent, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${lineage.url}/validate`);
    const req = request(
      url,
      {
        method: "POST",
        agent,
        ca: readFileSync(join(e2eContext().certDir, "ca.crt"), "utf8"),
        headers: { "content-type": "application/json", "content-length": String(body.length) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    // A shed request is answered before its body is read, and its connection closed: that is an answer.
    req.on("error", (error: NodeJS.ErrnoException) =>
      error.code === "EPIPE" || error.code === "ECONNRESET" ? resolve(-1) : reject(error),
    );
    req.end(body);
  });
}

describe("a flood of large reviews", () => {
  it("is answered in full, within the memory limit, and the process keeps serving", async ({ skip }) => {
    if (!e2eContext().local) skip("measures the memory of a process on this machine");
    const object = newPipelineRun({
      namespace: "flood",
      annotations: { filler: "x".repeat(1024 * 1024 - 600) },
    });
    const body = Buffer.from(createReview(object));
    expect(body.length).toBeGreaterThan(1000 * 1024);
    const agent = new Agent({ keepAlive: false, maxSockets: 500 });
    const statuses = await Promise.all(Array.from({ length: 500 }, () => post(agent, body)));
    agent.destroy();
    const counts: Record<string, number> = {};
    for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
    process.stdout.write(
      `[flood] 500 × 1 MiB: ${counts["200"] ?? 0} reviewed, ${(counts["429"] ?? 0) + (counts["-1"] ?? 0)} shed; peak RSS ${Math.round(peakRss(lineage.pid) / 1048576)} MiB\n`,
    );
    // Every request got its answer: reviewed (200), or shed at once (429, or its connection closed on it).
    expect(Object.keys(counts).every((s) => ["200", "429", "-1"].includes(s))).toBe(true);
    expect(counts["200"] ?? 0).toBeGreaterThan(0);
    const shed = await lineage.metric("tekton_lineage_admission_shed_total", { path: "/validate" });
    expect(shed).toBe((counts["429"] ?? 0) + (counts["-1"] ?? 0));
    expect(peakRss(lineage.pid)).toBeLessThan(memoryLimitBytes);
    expect((await lineage.get("/readyz")).status).toBe(200);
  });
});
