import { KubeConfig, Watch } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { raiseWatchTimeout } from "./informer.ts";

describe("client-node internals the informer relies on", () => {
  it("Watch keeps its silence timeout in requestTimeoutMs, which the informer raises", () => {
    const watch = new Watch(new KubeConfig());
    const internal = watch as unknown as { requestTimeoutMs?: unknown };
    expect(typeof internal.requestTimeoutMs).toBe("number");
    raiseWatchTimeout(watch, 120_000);
    expect(internal.requestTimeoutMs).toBe(120_000);
  });
});
