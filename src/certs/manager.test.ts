import { X509Certificate } from "node:crypto";
import {
  type AdmissionregistrationV1Api,
  ApiException,
  type CoreV1Api,
  KubeConfig,
  type V1MutatingWebhookConfiguration,
  type V1Secret,
} from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../observability/logger.ts";
import { generateCa, issueServing } from "../server/certificates.ts";
import { CertificateManager } from "./manager.ts";

const day = 86_400_000;
const policy = {
  sans: ["tekton-lineage.tekton-lineage.svc"],
  servingValidMs: 30 * day,
  renewBeforeMs: 10 * day,
  caValidMs: 365 * day,
};
const b64 = (text: string) => Buffer.from(text).toString("base64");
const unb64 = (text: string | undefined) => Buffer.from(text ?? "", "base64").toString("utf8");

/** The API server as far as the manager sees it: one Secret, one pair of configurations, and a log of writes. */
function fakeCluster(secret: V1Secret | undefined, options: { configurationConflict?: boolean } = {}) {
  const writes: string[] = [];
  let stored = secret;
  let bundle = "";
  const configuration = (): V1MutatingWebhookConfiguration => ({
    metadata: { name: "tekton-lineage" },
    webhooks: [
      { name: "w", admissionReviewVersions: ["v1"], sideEffects: "None", clientConfig: { caBundle: bundle } },
    ],
  });
  const replaceConfiguration = async ({ body }: { body: V1MutatingWebhookConfiguration }) => {
    if (options.configurationConflict) throw new ApiException(409, "Conflict", "{}", {});
    bundle = body.webhooks?.[0]?.clientConfig.caBundle ?? "";
    writes.push(`configurations trust ${servingOrCa(unb64(bundle))}`);
    return body;
  };
  const core = {
    readNamespacedSecret: async () => {
      if (!stored) throw new ApiException(404, "Not Found", "{}", {});
      return structuredClone(stored);
    },
    replaceNamespacedSecret: async ({ body }: { body: V1Secret }) => {
      stored = structuredClone(body);
      writes.push(
        `secret serves ${servingOrCa(unb64(body.data?.["tls.crt"]))}, CA ${servingOrCa(unb64(body.data?.["ca.crt"]))}`,
      );
      return stored;
    },
    createNamespacedSecret: async ({ body }: { body: V1Secret }) => {
      stored = structuredClone(body);
      writes.push("secret created");
      return stored;
    },
  } as unknown as CoreV1Api;
  const admission = {
    readMutatingWebhookConfiguration: async () => configuration(),
    readValidatingWebhookConfiguration: async () => configuration(),
    replaceMutatingWebhookConfiguration: replaceConfiguration,
    replaceValidatingWebhookConfiguration: replaceConfiguration,
  } as unknown as AdmissionregistrationV1Api;
  return { core, admission, writes, stored: () => stored };
}

const names = new Map<string, string>();
/** A short name for a certificate (its issuer's CN, or its own for a CA), for readable logs. */
function servingOrCa(pem: string): string {
  const first = pem.split(/(?<=-----END CERTIFICATE-----)/)[0]?.trim() ?? "";
  if (!first) return "nothing";
  const cert = new X509Certificate(first);
  const key = cert.fingerprint256;
  if (!names.has(key)) names.set(key, `#${names.size + 1}`);
  return names.get(key) ?? "?";
}

async function secretWithCaExpiringSoon(): Promise<V1Secret> {
  const now = new Date();
  const ca = await generateCa("old CA", new Date(now.getTime() - 300 * day), 320 * day); // 20 days left
  const serving = await issueServing(ca, { dnsNames: policy.sans, ips: [] }, now, 30 * day);
  return {
    metadata: { name: "tekton-lineage-tls", resourceVersion: "1" },
    data: {
      "ca.crt": b64(ca.certPem),
      "ca.key": b64(ca.keyPem),
      "tls.crt": b64(serving.certPem),
      "tls.key": b64(serving.keyPem),
    },
  };
}

function manager(cluster: ReturnType<typeof fakeCluster>) {
  return new CertificateManager(
    {
      kubeConfig: new KubeConfig(),
      namespace: "tekton-lineage",
      secretName: "tekton-lineage-tls",
      policy,
      webhookConfigurations: ["tekton-lineage"],
      logger: silentLogger(),
    },
    cluster,
  );
}

describe("CertificateManager", () => {
  it("serves a certificate of a new CA only after every webhook configuration trusts that CA", async () => {
    const secret = await secretWithCaExpiringSoon();
    const oldServing = servingOrCa(unb64(secret.data?.["tls.crt"]));
    const cluster = fakeCluster(secret);
    await manager(cluster).reconcile();
    // The new CA is written with the old serving pair kept, the bundle goes out, and only then the pair.
    const [newCa, trusted, served] = cluster.writes;
    const newCaId = /CA (#\d+)$/.exec(newCa ?? "")?.[1];
    expect(newCa).toBe(`secret serves ${oldServing}, CA ${newCaId}`);
    expect(trusted).toBe(`configurations trust ${newCaId}`);
    expect(served).toMatch(new RegExp(`^secret serves #\\d+, CA ${newCaId}$`));
    expect(served).not.toContain(`serves ${oldServing}`);
    const data = cluster.stored()?.data ?? {};
    const ca = new X509Certificate(unb64(data["ca.crt"]).split(/(?<=-----END CERTIFICATE-----)/)[0] ?? "");
    expect(new X509Certificate(unb64(data["tls.crt"])).verify(ca.publicKey)).toBe(true);
    expect(unb64(data["ca.crt"]).match(/BEGIN CERTIFICATE/g)).toHaveLength(2); // the old CA is still trusted
  });

  it("keeps serving the old pair while a configuration could not take the new bundle", async () => {
    const secret = await secretWithCaExpiringSoon();
    const cluster = fakeCluster(secret, { configurationConflict: true });
    await manager(cluster).reconcile();
    expect(cluster.writes).toHaveLength(1); // the new CA only
    expect(cluster.stored()?.data?.["tls.crt"]).toBe(secret.data?.["tls.crt"]);
  });

  it("writes CA and serving pair together on a first install, when nothing trusts anything yet", async () => {
    const cluster = fakeCluster(undefined);
    await manager(cluster).reconcile();
    expect(cluster.writes[0]).toBe("secret created");
    const data = cluster.stored()?.data ?? {};
    expect(Object.keys(data).sort()).toEqual(["ca.crt", "ca.key", "tls.crt", "tls.key"]);
  });
});
