/** How long to wait after consecutive failures: base·2^(failures-1), capped, with jitter. */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /** Spread either side, as a fraction (0.2: ±20%), so many waiters do not retry in step. */
  jitter?: number;
}

/** The delay in whole ms after `failures` consecutive failures (1 for the first); 0 failures waits nothing. */
export function backoffDelay(
  failures: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  if (failures <= 0) return 0;
  const jitter = policy.jitter ?? 0.2;
  const plain = Math.min(policy.baseMs * 2 ** Math.min(failures - 1, 30), policy.capMs);
  return Math.round(plain * (1 - jitter + 2 * jitter * random()));
}
