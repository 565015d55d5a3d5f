import type { Logger } from "../observability/logger.ts";

/**
 * Runs `task` until it succeeds, waiting 1 s, 2 s, 4 s … (at most `maxDelayMs`) between tries and logging
 * each failure; gives up quietly once `signal` aborts. Resolves true when the task succeeded.
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
      const delay = Math.min(500 * 2 ** attempt, options.maxDelayMs ?? 10_000);
      options.logger.warn({ err: error, retryInMs: delay }, `could not ${options.what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delay);
        function done() {
          clearTimeout(timer);
          options.signal.removeEventListener("abort", done);
          resolve();
        }
        options.signal.addEventListener("abort", done, { once: true });
      });
    }
  }
  return false;
}
