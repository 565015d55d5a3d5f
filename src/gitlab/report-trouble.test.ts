import { describe, expect, it } from "vitest";
import { backoffDelay } from "../kube/backoff.ts";
import { GitLabError } from "./client/api.ts";
import { TokenError } from "./client/token-source.ts";
import { type RetryPlan, retryPlan } from "./report-trouble.ts";

const noJitter = () => 0.5;

describe("retryPlan", () => {
  it.each<[string, unknown, number, number, Partial<RetryPlan> & { delayMs?: number }]>([
    [
      "no answer: wait on the host",
      new GitLabError(0, "no answer", 2000),
      7,
      0,
      { kind: "host", delayMs: 2150 },
    ],
    [
      "429 Retry-After beyond the host's wait",
      new GitLabError(429, "Retry later", 3000),
      1,
      1000,
      { kind: "host", delayMs: 3150 },
    ],
    ["a gateway's 503", new GitLabError(503, "down"), 1, 4000, { kind: "host", delayMs: 4150 }],
    [
      "a lock (409): this lineage backs off",
      new GitLabError(409, "in progress"),
      3,
      0,
      { kind: "request", delayMs: 2000 },
    ],
    ["a 500, capped at a minute", new GitLabError(500, "oops"), 20, 0, { kind: "request", delayMs: 60_000 }],
    [
      "a refused token is read again soon, backing off",
      new GitLabError(401, "401 Unauthorized"),
      2,
      0,
      { kind: "refused", delayMs: 10_000, forgetToken: true, problem: "refused" },
    ],
    [
      "a missing Secret is a configuration problem",
      new TokenError("cannot read Secret ns/t (404 NotFound)"),
      1,
      0,
      { kind: "refused", delayMs: 5_000, forgetToken: true, problem: "config" },
    ],
    [
      "an unknown project waits five minutes",
      new GitLabError(404, "404 Project Not Found"),
      1,
      0,
      { kind: "refused", delayMs: 300_000, forgetToken: false, problem: "refused" },
    ],
    ["anything else is a bug", new TypeError("x is undefined"), 1, 0, { kind: "unexpected" }],
  ])("%s", (_name, error, failures, hostWaitMs, expected) => {
    const plan = retryPlan(error, hostWaitMs, noJitter);
    // The shell backs a retry off by the key's failures in a row: `failures` of them here.
    const delayMs =
      "retry" in plan
        ? Math.max(plan.retry.atLeastMs ?? 0, backoffDelay(failures, plan.retry.policy, noJitter))
        : "delayMs" in plan
          ? plan.delayMs
          : undefined;
    const { delayMs: wanted, ...rest } = expected as Partial<RetryPlan> & { delayMs?: number };
    expect(plan).toMatchObject(rest);
    expect(delayMs).toBe(wanted);
  });
});
