import type { Logger } from "../observability/logger.ts";
import type { InFlight } from "./in-flight.ts";
import type { Readiness } from "./readiness.ts";

export interface Drainable {
  /** Stops accepting connections; resolves when the listener is closed. */
  close(): Promise<void>;
  /** Ends every connection still open. */
  closeAllConnections(): void;
}

/**
 * Graceful shutdown: fail readiness, keep serving for `delayMs` so endpoints stop routing here, stop
 * accepting, wait up to `timeoutMs` for in-flight reviews, then cut what is left.
 */
export async function drain(options: {
  readiness: Readiness;
  server: Drainable;
  inFlight: InFlight;
  delayMs: number;
  timeoutMs: number;
  logger: Logger;
}): Promise<{ finishedInTime: boolean }> {
  const { readiness, server, inFlight, logger } = options;
  readiness.drain();
  logger.info({ drainDelayMs: options.delayMs }, "draining: readiness now fails");
  await new Promise((resolve) => setTimeout(resolve, options.delayMs));
  const closed = server.close();
  const finishedInTime = await inFlight.idle(options.timeoutMs);
  if (!finishedInTime)
    logger.warn({ inFlight: inFlight.size }, "drain timeout passed with reviews still in flight");
  server.closeAllConnections();
  await closed;
  return { finishedInTime };
}
