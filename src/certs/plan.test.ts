import { createSecureContext } from "node:tls";
import { describe, expect, it } from "vitest";
import { generateCa, issueServing } from "../server/certificates.ts";
import { tlsKeys } from "../server/tls-keys.ts";
import { caBundle, certificateAction, splitSans } from "./plan.ts";

const day = 86_400_000;
const now = new Date("2026-11-22T10:00:00Z");
const policy = {
  sans: ["tekton-lineage.tekton-lineage.svc", "127.0.0.1"],
  servingValidMs: 90 * day,
  renewBeforeMs: 30 * day,
  caValidMs: 3650 * day,
};

async function secret(
  options: { servingValidMs?: number; caValidMs?: number; sans?: string[]; at?: Date } = {},
) {
  const at = options.at ?? now;
  const ca = await generateCa("tekton-lineage CA", at, options.caValidMs ?? policy.caValidMs);
  const serving = await issueServing(
    ca,
    splitSans(options.sans ?? policy.sans),
    at,
    options.servingValidMs ?? policy.servingValidMs,
  );
  return {
    [tlsKeys.ca]: ca.certPem,
    [tlsKeys.caKey]: ca.keyPem,
    [tlsKeys.cert]: serving.certPem,
    [tlsKeys.key]: serving.keyPem,
  };
}

describe("generated certificates", () => {
  it("form a valid serving pair for the names, signed by the CA", async () => {
    const data = await secret();
    createSecureContext({ cert: data[tlsKeys.cert], key: data[tlsKeys.key] });
    expect(certificateAction(data, policy, now)).toEqual({
      action: "none",
      servingExpires: expect.any(Date),
    });
  });
});

describe("certificateAction", () => {
  it("creates a CA first", () => {
    expect(certificateAction({}, policy, now)).toEqual({ action: "renew-ca", why: "no CA yet" });
  });

  it("renews the serving certificate before it expires, or when a name is missing", async () => {
    const data = await secret({ servingValidMs: 20 * day });
    expect(certificateAction(data, policy, now)).toMatchObject({
      action: "renew-serving",
      why: expect.stringMatching(/expires/),
    });
    const narrow = await secret({ sans: ["127.0.0.1"] });
    expect(certificateAction(narrow, policy, now)).toMatchObject({
      action: "renew-serving",
      why: "serving certificate does not cover tekton-lineage.tekton-lineage.svc",
    });
  });

  it("renews the CA before a certificate it signs would outlive it", async () => {
    const data = await secret({ caValidMs: 100 * day });
    expect(certificateAction(data, policy, now)).toMatchObject({ action: "renew-ca" });
  });

  it("renews a serving certificate signed by another CA", async () => {
    const a = await secret();
    const b = await secret();
    expect(
      certificateAction(
        { ...a, [tlsKeys.cert]: b[tlsKeys.cert], [tlsKeys.key]: b[tlsKeys.key] },
        policy,
        now,
      ),
    ).toMatchObject({
      action: "renew-serving",
      why: "serving certificate not signed by the current CA",
    });
  });
});

describe("caBundle", () => {
  it("keeps the previous CA while it is valid, so both old and new serving certificates are trusted", async () => {
    const a = await secret();
    const b = await secret();
    const bundle = caBundle(b[tlsKeys.ca] ?? "", a[tlsKeys.ca], now);
    expect(bundle.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(caBundle(b[tlsKeys.ca] ?? "", undefined, now).match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
  });
});
