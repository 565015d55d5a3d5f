/** Runs `task` for 0..count-1 with at most `concurrency` at once; returns results in index order. */
export async function inParallel<T>(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

/** Retries `task` on failure, as a careful client would after a webhook outage. */
export async function withRetries<T>(
  task: () => Promise<T>,
  retries: number,
  onError?: (e: unknown) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await task();
    } catch (error) {
      onError?.(error);
      if (attempt >= retries) throw error;
      await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
    }
  }
}
