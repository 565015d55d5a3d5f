import type { Logger } from "../observability/logger.ts";

/**
 * Runs `task` now and then every `intervalMs` (never two at once) until the signal aborts. Errors are
 * logged and the next round comes as planned.
 */
export function every(
  name: string,
  intervalMs: number,
  task: (signal: AbortSignal) => Promise<void>,
  signal: AbortSignal,
  logger: Logger,
): Promise<void> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const round = async () => {
      try {
        await task(signal);
      } catch (error) {
        if (!signal.aborted) logger.warn({ err: error, task: name }, "periodic task failed");
      }
      if (signal.aborted) resolve();
      else timer = setTimeout(() => void round(), intervalMs);
    };
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
    void round();
  });
}
