import type { IncomingMessage } from "node:http";

export type BodyResult = { ok: true; body: string } | { ok: false; status: 413 | 400; message: string };

/** Reads a request body up to `limit` bytes; beyond that it stops buffering and reports 413. */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve(tooLarge(limit));
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    req.on("data", (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        settle(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => settle({ ok: true, body: Buffer.concat(chunks).toString("utf8") }));
    req.on("error", (error) =>
      settle({ ok: false, status: 400, message: `could not read body: ${error.message}` }),
    );
    req.on("aborted", () => settle({ ok: false, status: 400, message: "client aborted the request" }));
  });
}

function tooLarge(limit: number): BodyResult {
  return {
    ok: false,
    status: 413,
    message: `AdmissionReview body is larger than the limit of ${limit} bytes`,
  };
}
