import express, { type Request, type Response } from "express";

export type BodyResult =
  | { ok: true; value: unknown }
  | { ok: false; status: 400 | 413 | 415; message: string };

/**
 * Reads and parses a JSON request body with express.json (body-parser): at most `limit` bytes, judged by
 * the declared length or by counting chunks, then parsed once. Its errors become answers with a message.
 */
export function jsonBodyReader(limit: number): (req: Request, res: Response) => Promise<BodyResult> {
  // The Content-Type was checked before; parse whatever came.
  const parse = express.json({ limit, type: () => true, strict: true });
  return (req, res) =>
    new Promise((resolve) => {
      parse(req, res, (error?: unknown) => {
        if (!error) return resolve({ ok: true, value: req.body });
        const { type, message } = error as { type?: string; message?: string };
        if (type === "entity.too.large")
          return resolve({
            ok: false,
            status: 413,
            message: `AdmissionReview body is larger than the limit of ${limit} bytes`,
          });
        if (type === "encoding.unsupported" || type === "charset.unsupported")
          return resolve({ ok: false, status: 415, message: message ?? "unsupported encoding" });
        if (type === "entity.parse.failed")
          return resolve({ ok: false, status: 400, message: `request body is not valid JSON: ${message}` });
        resolve({ ok: false, status: 400, message: `could not read body: ${message ?? String(error)}` });
      });
    });
}
