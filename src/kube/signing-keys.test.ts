import type { V1Secret } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { kubeConfigFor, serve, type TestServer } from "../testing/http.ts";
import {
  dropUnusedKeys,
  type KeysInUse,
  keysOf,
  retiredLongAgo,
  rotated,
  signingKeyId,
  withoutUnusedKeys,
} from "./signing-keys.ts";

const b64 = (char: string) => Buffer.from(char.repeat(32)).toString("base64");
const id = (char: string) => signingKeyId(Buffer.from(char.repeat(32)));
const secret = (data: Record<string, string>, annotations: Record<string, string> = {}): V1Secret => ({
  metadata: { name: "tekton-lineage-signing", annotations },
  data,
});

describe("signing key Secret", () => {
  it("holds the current key first, then retired and legacy ones", () => {
    const keys = keysOf(
      secret({ "hmac-key": b64("a"), "retired-x": b64("b"), "previous-hmac-key": b64("c"), other: b64("d") }),
    );
    expect(keys.map((k) => k.id)).toEqual([id("a"), id("b"), id("c")]);
    expect(keysOf(secret({ "hmac-key": Buffer.from("short").toString("base64") }))).toEqual([]);
  });

  it("rotates by compare-and-swap material: a new current key, the old one retired with its time", () => {
    const now = new Date("2026-11-22T10:00:00Z");
    const next = rotated(secret({ "hmac-key": b64("a") }), now, Buffer.from("n".repeat(32)));
    expect(keysOf(next).map((k) => k.id)).toEqual([id("n"), id("a")]);
    expect(next.metadata?.annotations?.[`tekton-lineage.io/retired-at-${id("a")}`]).toBe(now.toISOString());
  });

  it.each([
    ["keeps a retired key a live run was signed with", [id("a")], 10 * 60_000, false],
    ["keeps a key retired too recently (a create may be on its way)", [], 60_000, false],
    ["drops a retired key nobody uses any more", [], 10 * 60_000, true],
  ])("%s", (_name, inUse, elapsedMs, dropped) => {
    const retiredAt = new Date("2026-11-22T10:00:00Z");
    const withRetired = rotated(secret({ "hmac-key": b64("a") }), retiredAt, Buffer.from("n".repeat(32)));
    const after = withoutUnusedKeys(
      withRetired,
      new Set(inUse),
      new Date(retiredAt.getTime() + elapsedMs),
      5 * 60_000,
    );
    expect(after !== undefined).toBe(dropped);
    if (after) expect(keysOf(after).map((k) => k.id)).toEqual([id("n")]);
  });

  it.each([
    ["no retired key", {}, {}, []],
    [
      "a key retired long enough ago",
      { "retired-x": b64("x") },
      { "retired-at-x": "2026-11-22T09:00:00Z" },
      ["x"],
    ],
    ["a key retired too recently", { "retired-x": b64("x") }, { "retired-at-x": "2026-11-22T09:59:00Z" }, []],
    ["a retired key with no time", { "retired-x": b64("x") }, {}, []],
    ["the key of older releases (its signatures do not name it)", { "previous-hmac-key": b64("p") }, {}, []],
  ])("retiredLongAgo: %s", (_name, data, times, ids) => {
    const annotations = Object.fromEntries(
      Object.entries(times).map(([key, value]) => [`tekton-lineage.io/${key}`, value]),
    );
    const now = new Date("2026-11-22T10:00:00Z");
    expect(retiredLongAgo(secret({ "hmac-key": b64("a"), ...data }, annotations), now, 5 * 60_000)).toEqual(
      ids,
    );
  });
});

describe("dropUnusedKeys against a stand-in API server", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** Serves the Secret; a PUT replaces it (or answers `putStatus`); every request is recorded. */
  async function apiServer(stored: V1Secret, putStatus = 200) {
    const requests: { method: string; body?: V1Secret }[] = [];
    server = await serve(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString()) as V1Secret) : undefined;
      requests.push({ method: req.method ?? "", body });
      const status = req.method === "PUT" ? putStatus : 200;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(status === 200 ? (body ?? stored) : { kind: "Status", code: status }));
    });
    return { requests, kubeConfig: kubeConfigFor(server.url) };
  }

  const longAgo = new Date(Date.now() - 3_600_000);
  const stored = (): V1Secret => ({
    ...rotated(secret({ "hmac-key": b64("a") }), longAgo, Buffer.from("n".repeat(32))),
    metadata: {
      name: "tekton-lineage-signing",
      resourceVersion: "41",
      annotations: { [`tekton-lineage.io/retired-at-${id("a")}`]: longAgo.toISOString() },
    },
  });
  /** A KeysInUse that answers `answer` and counts how often it was asked (and with which keys). */
  const keysInUse = (answer: string[] | undefined) => {
    const asked: string[][] = [];
    const fn: KeysInUse = async (keys) => {
      asked.push(keys.map((k) => k.id));
      return answer && new Set(answer);
    };
    return { asked, fn };
  };

  it("does not ask which keys are in use when no key was retired long enough ago", async () => {
    const recent = rotated(secret({ "hmac-key": b64("a") }), new Date(), Buffer.from("n".repeat(32)));
    const { requests, kubeConfig } = await apiServer(recent);
    const inUse = keysInUse([]);
    expect(await dropUnusedKeys(kubeConfig, "tl", "tekton-lineage-signing", inUse.fn, 60_000)).toEqual([]);
    expect(inUse.asked).toEqual([]);
    expect(requests.map((r) => r.method)).toEqual(["GET"]);
  });

  it.each([
    ["keeps a key a live run was signed with", [id("a")], ["GET"], []],
    ["writes nothing when it cannot be said which keys are in use", undefined, ["GET"], []],
    ["drops an unused key by compare-and-swap on the Secret as read", [], ["GET", "PUT"], [id("a")]],
  ])("%s", async (_name, answer, methods, dropped) => {
    const { requests, kubeConfig } = await apiServer(stored());
    const inUse = keysInUse(answer);
    expect(await dropUnusedKeys(kubeConfig, "tl", "tekton-lineage-signing", inUse.fn, 60_000)).toEqual(
      dropped,
    );
    // Verified with the keys of the Secret as read, not with whatever a replica has in memory.
    expect(inUse.asked).toEqual([[id("n"), id("a")]]);
    expect(requests.map((r) => r.method)).toEqual(methods);
    const put = requests.find((r) => r.method === "PUT")?.body;
    if (put) {
      expect(put.metadata?.resourceVersion).toBe("41");
      expect(keysOf(put).map((k) => k.id)).toEqual([id("n")]);
      expect(put.metadata?.annotations).toEqual({});
    }
  });

  it("a conflict (the Secret changed meanwhile: a rotation) drops nothing this round", async () => {
    const { requests, kubeConfig } = await apiServer(stored(), 409);
    expect(
      await dropUnusedKeys(kubeConfig, "tl", "tekton-lineage-signing", keysInUse([]).fn, 60_000),
    ).toEqual([]);
    expect(requests.map((r) => r.method)).toEqual(["GET", "PUT"]);
  });
});
