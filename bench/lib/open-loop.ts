import { Agent, request } from "node:https";

export interface OpenLoopResult {
  /** Latency of each request, measured from the moment it was due (no coordinated omission). */
  latencies: number[];
  errors: number;
  statuses: Record<string, number>;
  achievedRate: number;
}

/**
 * Sends POSTs at a fixed rate for a fixed time, whether or not earlier ones have been answered (an
 * open loop, as the API server's admission calls are), over keep-alive HTTPS connections.
 */
export async function openLoop(options: {
  url: string;
  ca: string;
  ratePerSecond: number;
  durationMs: number;
  body: (i: number) => string;
  maxSockets?: number;
}): Promise<OpenLoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64, ca: options.ca });
  const total = Math.round((options.ratePerSecond * options.durationMs) / 1000);
  const interval = 1000 / options.ratePerSecond;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const payload = options.body(i);
    // Measured from when the request was due, or from when it left if it left early (never negative).
    const from = Math.min(due, performance.now());
    inFlight.push(
      new Promise<void>((resolve) => {
        const req = request(
          options.url,
          {
            method: "POST",
            agent,
            headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
          },
          (res) => {
            res.resume();
            res.on("end", () => {
              latencies.push(performance.now() - from);
              const key = String(res.statusCode);
              statuses[key] = (statuses[key] ?? 0) + 1;
              resolve();
            });
          },
        );
        req.on("error", () => {
          errors += 1;
          resolve();
        });
        req.end(payload);
      }),
    );
  }
  await Promise.all(inFlight);
  const elapsed = performance.now() - start;
  agent.destroy();
  return { latencies, errors, statuses, achievedRate: (total / elapsed) * 1000 };
}
