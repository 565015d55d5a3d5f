import { backoffDelay } from "../kube/backoff.ts";
import { GitLabError } from "./api.ts";
import { TokenError } from "./credentials.ts";

/** What to do after a report failed, decided from the error alone. */
export type RetryPlan =
  /** The host is down or asked to wait: wait on the host; this lineage's failures do not count. */
  | { kind: "host"; delayMs: number }
  /** Trouble with this request (409 lock, 408, 500): back off for this lineage. */
  | { kind: "request"; delayMs: number }
  /**
   * GitLab or the cluster refused for a reason a person must mend: a token (401/403, a missing Secret) is
   * read again soon, backing off; another refusal (a project or commit GitLab does not know) waits long.
   */
  | { kind: "refused"; delayMs: number; forgetToken: boolean; problem: "config" | "refused"; message: string }
  /** Not a GitLab or token error: a bug, let the shell retry it. */
  | { kind: "unexpected" };

/** The plan for an error after `failures` failures of this lineage in a row (counting this one). */
export function retryPlan(
  error: unknown,
  failures: number,
  hostWaitMs: number,
  random: () => number = Math.random,
): RetryPlan {
  if (error instanceof GitLabError && error.hostHeld) {
    return { kind: "host", delayMs: Math.max(error.retryAfterMs ?? 0, hostWaitMs) + 50 + random() * 200 };
  }
  if (error instanceof GitLabError && error.retryable) {
    const backoff = backoffDelay(failures, { baseMs: 500, capMs: 60_000 }, random);
    return { kind: "request", delayMs: Math.max(error.retryAfterMs ?? 0, backoff) };
  }
  if (error instanceof TokenError || error instanceof GitLabError) {
    const credentials = error instanceof TokenError || error.status === 401 || error.status === 403;
    return {
      kind: "refused",
      delayMs: credentials ? backoffDelay(failures, { baseMs: 5_000, capMs: 300_000 }, random) : 300_000,
      forgetToken: credentials,
      problem: error instanceof TokenError ? "config" : "refused",
      message: `cannot report to GitLab: ${error.message}`,
    };
  }
  return { kind: "unexpected" };
}
