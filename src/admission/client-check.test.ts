import { describe, expect, it } from "vitest";
import { clientRefusal } from "./client-check.ts";

const socket = (authorized: boolean, cn?: string) => ({
  authorized,
  getPeerCertificate: () =>
    ({ subject: cn ? { CN: cn } : {} }) as ReturnType<import("node:tls").TLSSocket["getPeerCertificate"]>,
});

describe("clientRefusal", () => {
  it.each([
    {
      name: "no --client-ca: anyone",
      client: socket(false),
      required: { certificate: false },
      refused: undefined,
    },
    {
      name: "a certificate --client-ca signed",
      client: socket(true, "apiserver"),
      required: { certificate: true },
      refused: undefined,
    },
    {
      name: "no certificate, or one it did not sign",
      client: socket(false),
      required: { certificate: true },
      refused: /signed by --client-ca/,
    },
    {
      name: "a signed certificate with a listed subject",
      client: socket(true, "kube-apiserver-webhook-client"),
      required: { certificate: true, names: ["kube-apiserver-webhook-client"] },
      refused: undefined,
    },
    {
      name: "a signed certificate of someone else the CA also signed",
      client: socket(true, "system:node:worker-1"),
      required: { certificate: true, names: ["kube-apiserver-webhook-client"] },
      refused: /names "system:node:worker-1", not one of --client-ca-subjects/,
    },
  ])("$name", ({ client, required, refused }) => {
    const why = clientRefusal(client, required);
    if (refused === undefined) expect(why).toBeUndefined();
    else expect(why).toMatch(refused);
  });
});
