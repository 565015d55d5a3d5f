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
  const plain = Math.min(policy.baseMs * 2 ** Math.min(failures - 1, 30), policy.capMs);
  return Math.round(jitter(plain, policy.jitter ?? 0.2, random));
}

/** `value` spread by ±`fraction` of it (0.2: ±20%), so that many waiters do not act in step. */
export function jitter(value: number, fraction: number, random: () => number = Math.random): number {
  return value * (1 - fraction + 2 * fraction * random());
}

/**
 * An HTTP status (0: no answer) worth trying again, the one rule for the API server and GitLab alike: no
 * answer, a timeout, a rate limit, a server error. The write it answers may or may not have happened.
 */
export function transientStatus(code: number): boolean {
  return code === 0 || code === 408 || code === 429 || code >= 500;
}
