import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { type Socket, connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stallAfter } from "../../src/testing/http.ts";
import { e2eContext } from "./support/context.ts";
import { createReview } from "./support/https-post.ts";
import { newPipelineRun } from "./support/pipelineruns.ts";
import { eventually } from "./support/poll.ts";
import { imageEnvironment, memoryLimitBytes, peakRss } from "./support/process-memory.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";

/**
 * Slow and hostile clients: a connection that never completes its TLS handshake or its headers is cut
 * within seconds; uploads that declare 3 MiB and stall hold only what they sent, and when bodies outgrow
 * the budget the largest goes, so real reviews keep getting answers.
 *
 * A flood: 500 reviews of 1 MiB each, all at once, at one webhook process. It must answer every one (200,
 * or 429 for those it sheds before reading their body), stay within the Deployment's memory limit
 * (384 MiB), and keep serving.
 */
let lineage: LineageProcess;

beforeAll(async () => {
  lineage = await startTektonLineage({ role: "webhook", logLevel: "info", env: imageEnvironment });
});

afterAll(async () => {
  await lineage?.stop();
});

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

/** How long the server keeps a connection open (ms) from now until it closes it. */
function closedAfter(socket: Socket): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => {
    socket.on("error", () => {});
    socket.resume(); // read what comes (a 408), so the socket can end
    socket.on("close", () => resolve(Date.now() - started));
  });
}

/** An upload to /validate that declares `declared` bytes, sends `sent` of them and stalls. */
function stalledUpload(agent: Agent, declared: number, sent: number) {
  const req = request(new URL(`${lineage.url}/validate`), {
    method: "POST",
    agent,
    ca: readFileSync(join(e2eContext().certDir, "ca.crt"), "utf8"),
    headers: { "content-type": "application/json", "content-length": String(declared) },
  });
  return stallAfter(req, sent);
}

async function reviewStatus(): Promise<number> {
  const agent = new Agent({ keepAlive: false });
  try {
    return await post(agent, Buffer.from(createReview(newPipelineRun({ namespace: "slow" }))));
  } finally {
    agent.destroy();
  }
}

const MiB = 1024 * 1024;

describe("slow and hostile clients", () => {
  it("are cut off: no TLS handshake within 10 s, no complete headers within 5 s", async () => {
    const silent = tcpConnect(lineage.port, "127.0.0.1");
    const halfHeaders = tlsConnect({ port: lineage.port, host: "127.0.0.1", rejectUnauthorized: false });
    halfHeaders.once("secureConnect", () => halfHeaders.write("POST /validate HTTP/1.1\r\nHost: x\r\n"));
    const [handshakeMs, headersMs] = await Promise.all([closedAfter(silent), closedAfter(halfHeaders)]);
    process.stdout.write(`[slow] cut after: no handshake ${handshakeMs} ms, half headers ${headersMs} ms\n`);
    // Node's defaults would keep both for two minutes and more; the checks run every second.
    expect(handshakeMs).toBeLessThan(12_000);
    expect(headersMs).toBeLessThan(10_000);
    expect((await lineage.get("/readyz")).status).toBe(200);
  }, 30_000);

  it("that declare 3 MiB and send little hold what they sent: a review still gets an answer", async () => {
    // Declared, these fill the whole 16 MiB budget (5 × 3 MiB + 1 MiB).
    const agent = new Agent({ keepAlive: false, maxSockets: 10 });
    const uploads = [3, 3, 3, 3, 3, 1].map((size) => stalledUpload(agent, size * MiB, 64 * 1024));
    await eventually("the stalled uploads to be held", async () =>
      (await lineage.metric("tekton_lineage_admission_body_bytes")) >= 6 * 64 * 1024 ? true : undefined,
    );
    expect(await reviewStatus()).toBe(200);
    for (const upload of uploads) upload.abort();
    agent.destroy();
  });

  it("that stall near 3 MiB are shed, the largest first, and a review still gets an answer", async () => {
    const shedBefore = await lineage.metric("tekton_lineage_admission_shed_total", { path: "/validate" });
    const agent = new Agent({ keepAlive: false, maxSockets: 10 });
    // 6 × 3 MiB do not fit 16 MiB: as the bytes arrive, the largest body is shed until they do.
    const uploads = Array.from({ length: 6 }, () => stalledUpload(agent, 3 * MiB, 3 * MiB - 1024));
    await eventually("the budget to fill and shed", async () =>
      (await lineage.metric("tekton_lineage_admission_shed_total", { path: "/validate" })) > shedBefore
        ? true
        : undefined,
    );
    expect(await lineage.metric("tekton_lineage_admission_body_bytes")).toBeLessThanOrEqual(16 * MiB);
    expect(await reviewStatus()).toBe(200);
    for (const upload of uploads) upload.abort();
    const answers = await Promise.all(uploads.map((u) => u.answer));
    expect(answers.filter((a) => a === 429 || a === -1).length).toBeGreaterThan(0);
    agent.destroy();
  });
});
