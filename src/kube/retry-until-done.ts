import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../observability/logger.ts";
import { backoffDelay } from "./backoff.ts";

/**
 * Runs `task` until it succeeds, waiting 1 s, 2 s, 4 s … (at most `maxDelayMs`, with jitter) between tries
 * and logging each failure; gives up quietly once `signal` aborts. Resolves true when the task succeeded.
 */
export async function retryUntilDone(
  task: () => Promise<void>,
  options: { what: string; logger: Logger; signal: AbortSignal; maxDelayMs?: number },
): Promise<boolean> {
  for (let attempt = 1; !options.signal.aborted; attempt++) {
    try {
      await task();
      return true;
    } catch (error) {
      if (options.signal.aborted) break;
      const delay = backoffDelay(attempt, { baseMs: 1000, capMs: options.maxDelayMs ?? 10_000 });
      options.logger.warn({ err: error, retryInMs: delay }, `could not ${options.what}`);
      await sleep(delay, undefined, { signal: options.signal }).catch(() => undefined);
    }
  }
  return false;
}
