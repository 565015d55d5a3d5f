import { describe, expect, it, vi } from "vitest";
import { silentLogger } from "../observability/logger.ts";
import { retryUntilDone } from "./retry-until-done.ts";

describe("retryUntilDone", () => {
  it("retries a failing task until it succeeds", async () => {
    let calls = 0;
    const done = await retryUntilDone(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error("not yet");
      },
      { what: "test", logger: silentLogger(), signal: new AbortController().signal, maxDelayMs: 1 },
    );
    expect(done).toBe(true);
    expect(calls).toBe(3);
  });

  it("stops waiting at once when aborted, without another try", async () => {
    const abort = new AbortController();
    let calls = 0;
    const started = Date.now();
    const result = retryUntilDone(
      async () => {
        calls += 1;
        throw new Error("down");
      },
      { what: "test", logger: silentLogger(), signal: abort.signal, maxDelayMs: 60_000 },
    );
    await vi.waitFor(() => expect(calls).toBe(1));
    abort.abort();
    expect(await result).toBe(false);
    expect(calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(900);
  });
});
