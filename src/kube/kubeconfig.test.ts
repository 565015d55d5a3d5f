import { readFileSync } from "node:fs";
import { HttpMethod, KubeConfig, RequestContext } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { ownNamespace, PooledKubeConfig } from "./kubeconfig.ts";

function config(): PooledKubeConfig {
  const kc = new PooledKubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: "c",
        server: "https://127.0.0.1:6443",
        skipTLSVerify: false,
        caData: Buffer.from("ca").toString("base64"),
      },
    ],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

describe("PooledKubeConfig", () => {
  it("rests on client-node's private createDispatcher, in the exact version package.json pins", () => {
    // An upgrade of @kubernetes/client-node must come with a look at PooledKubeConfig: this says so.
    const pinned = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"))
      .dependencies["@kubernetes/client-node"];
    const installed = JSON.parse(
      readFileSync(
        new URL("../../node_modules/@kubernetes/client-node/package.json", import.meta.url),
        "utf8",
      ),
    ).version;
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(installed).toBe(pinned);
    expect(typeof (KubeConfig.prototype as unknown as { createDispatcher?: unknown }).createDispatcher).toBe(
      "function",
    );
  });

  it("gives every request the same connection pool", async () => {
    const kc = config();
    const a = new RequestContext("https://127.0.0.1:6443/api", HttpMethod.GET);
    const b = new RequestContext("https://127.0.0.1:6443/api", HttpMethod.GET);
    await kc.applySecurityAuthentication(a);
    await kc.applySecurityAuthentication(b);
    expect(a.getDispatcher()).toBeDefined();
    expect(b.getDispatcher()).toBe(a.getDispatcher());
    expect(b.getHeaders().Authorization).toBe("Bearer t");
  });

  it("gives requests without a signal a timeout, and keeps a caller's own signal", async () => {
    const kc = config();
    kc.requestTimeoutMs = 20;
    const plain = new RequestContext("https://127.0.0.1:6443/api", HttpMethod.GET);
    await kc.applySecurityAuthentication(plain);
    const signal = plain.getSignal();
    expect(signal).toBeDefined();
    await new Promise((resolve) => signal?.addEventListener("abort", resolve, { once: true }));
    expect(signal?.aborted).toBe(true);
    const own = new AbortController().signal;
    const withSignal = new RequestContext("https://127.0.0.1:6443/api", HttpMethod.GET);
    withSignal.setSignal(own);
    await kc.applySecurityAuthentication(withSignal);
    expect(withSignal.getSignal()).toBe(own);
  });
});

describe("ownNamespace", () => {
  it("prefers the setting, then POD_NAMESPACE, then tekton-lineage", () => {
    expect(ownNamespace("x", { POD_NAMESPACE: "y" })).toBe("x");
    expect(ownNamespace(undefined, { POD_NAMESPACE: "y" })).toBe("y");
    expect(ownNamespace(undefined, {})).toBe("tekton-lineage");
  });
});
