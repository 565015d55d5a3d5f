import { transientStatus } from "./backoff.ts";
/** What an error from the Kubernetes API says, read from client-node's ApiException or a fetch failure. */
export interface ApiFailure {
  /** HTTP status, or 0 when no response came back (timeout, reset, refused). */
  code: number;
  reason: string;
  message: string;
  retryAfterSeconds?: number;
}

export function apiFailure(error: unknown): ApiFailure {
  const e = error as { code?: unknown; body?: unknown; message?: string; statusCode?: unknown };
  const code = typeof e.code === "number" ? e.code : typeof e.statusCode === "number" ? e.statusCode : 0;
  let status: { reason?: string; message?: string; details?: { retryAfterSeconds?: number } } = {};
  if (typeof e.body === "string") {
    try {
      status = JSON.parse(e.body);
    } catch {
      status = { message: e.body };
    }
  } else if (typeof e.body === "object" && e.body !== null) {
    status = e.body as typeof status;
  }
  return {
    code,
    reason: status.reason ?? (code === 0 ? "NoResponse" : "Unknown"),
    message: status.message ?? e.message ?? String(error),
    retryAfterSeconds: status.details?.retryAfterSeconds,
  };
}

/**
 * True when the write may or may not have been committed: no response, a timeout, or a server error.
 * The caller must re-read before deciding what happened.
 */
export function isAmbiguous(error: unknown): boolean {
  return transientStatus(apiFailure(error).code);
}

/** A failure in one line, for a person: the API server's words and code when it answered, else the error's. */
export function failureText(error: unknown): string {
  const failure = apiFailure(error);
  return failure.code ? `${failure.message} (HTTP ${failure.code})` : (error as Error).message;
}
