import type { V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { keysOf, rotated, signingKeyId, withoutUnusedKeys } from "./signing-keys.ts";

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
});
