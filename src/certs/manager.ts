import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1MutatingWebhookConfiguration,
  type V1Secret,
  type V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import { apiFailure } from "../kube/api-errors.ts";
import { managedByLabel } from "../kube/managed-by.ts";
import type { Logger } from "../observability/logger.ts";
import { tlsKeys } from "../server/tls-keys.ts";
import { type CertificatePolicy, caBundle, certificateAction, splitSans } from "./plan.ts";

export interface CertificateManagerOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  secretName: string;
  policy: CertificatePolicy;
  /** Names of the mutating and validating webhook configurations to keep the CA bundle of. */
  webhookConfigurations: readonly string[];
  logger: Logger;
}

const decode = (data: Record<string, string> | undefined) =>
  Object.fromEntries(
    Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
/** The current CA: the first certificate of the bundle. */
const currentCa = (data: Record<string, string>) =>
  data[tlsKeys.ca]?.split(/(?<=-----END CERTIFICATE-----)/)[0]?.trim() ?? "";
const encode = (data: Record<string, string>) =>
  Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));

/**
 * Keeps tekton-lineage's own certificates (run by the reconciler leader): a CA and a serving certificate
 * in one Secret, renewed before they expire (the old CA stays in the bundle until it expires, so
 * replicas still serving the old pair stay trusted), and the CA bundle written into the webhook
 * configurations. Every write is conditional on what was read; a lost race is simply redone next round.
 */
export class CertificateManager {
  private readonly core: CoreV1Api;
  private readonly admission: AdmissionregistrationV1Api;
  private readonly options: CertificateManagerOptions;

  constructor(
    options: CertificateManagerOptions,
    apis?: { core: CoreV1Api; admission: AdmissionregistrationV1Api },
  ) {
    this.options = options;
    this.core = apis?.core ?? options.kubeConfig.makeApiClient(CoreV1Api);
    this.admission = apis?.admission ?? options.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  }

  /**
   * One round. A new CA is written first, beside the old one in the bundle, with the old serving pair
   * kept; the bundle goes into the webhook configurations; only once every configuration trusts the
   * current CA is a serving certificate it signed written. So no replica ever serves a certificate the
   * API server cannot yet verify. (On a first install nothing trusts anything yet: CA and serving pair
   * are written together, as a TLS Secret must hold a pair.)
   */
  async reconcile(): Promise<void> {
    const { policy, logger } = this.options;
    const read = await this.readSecret();
    let data = read.data;
    let secret = read.secret;
    const now = new Date();
    const first = certificateAction(data, policy, now);
    if (first.action === "renew-ca") {
      const { generateCa, issueServing } = await import("../server/certificates.ts");
      const ca = await generateCa("tekton-lineage CA", now, policy.caValidMs);
      const next = {
        ...data,
        [tlsKeys.ca]: caBundle(ca.certPem, currentCa(data) || undefined, now),
        [tlsKeys.caKey]: ca.keyPem,
      };
      if (!data[tlsKeys.cert] || !data[tlsKeys.key]) {
        const serving = await issueServing(ca, splitSans(policy.sans), now, policy.servingValidMs);
        Object.assign(next, { [tlsKeys.cert]: serving.certPem, [tlsKeys.key]: serving.keyPem });
      }
      const written = await this.writeSecret(secret, next);
      if (!written) return; // another writer won; read again next round
      [secret, data] = [written, next];
      logger.info(
        { secret: this.options.secretName, why: first.why },
        "new CA written; the old one stays trusted",
      );
    }
    const bundle = data[tlsKeys.ca] ?? "";
    if (!bundle) return;
    const trusted = await this.injectCaBundle(Buffer.from(bundle).toString("base64"));
    const action = certificateAction(data, policy, now);
    if (action.action !== "renew-serving") return;
    if (!trusted) {
      logger.info("serving certificate waits until every webhook configuration trusts the current CA");
      return;
    }
    const { issueServing } = await import("../server/certificates.ts");
    const serving = await issueServing(
      { certPem: currentCa(data), keyPem: data[tlsKeys.caKey] ?? "" },
      splitSans(policy.sans),
      now,
      policy.servingValidMs,
    );
    const next = { ...data, [tlsKeys.cert]: serving.certPem, [tlsKeys.key]: serving.keyPem };
    if (await this.writeSecret(secret, next))
      logger.info({ secret: this.options.secretName, why: action.why }, "serving certificate renewed");
  }

  private async readSecret(): Promise<{ secret: V1Secret | undefined; data: Record<string, string> }> {
    const { namespace, secretName } = this.options;
    const secret = await this.core
      .readNamespacedSecret({ name: secretName, namespace })
      .catch((error: unknown) => {
        if (apiFailure(error).code === 404) return undefined;
        throw error;
      });
    return { secret, data: decode(secret?.data) };
  }

  /** Writes the Secret conditionally (create, or replace at the version read); undefined when another won. */
  private async writeSecret(
    secret: V1Secret | undefined,
    data: Record<string, string>,
  ): Promise<V1Secret | undefined> {
    const { namespace, secretName } = this.options;
    try {
      return secret
        ? await this.core.replaceNamespacedSecret({
            name: secretName,
            namespace,
            body: { ...secret, data: encode(data), type: "kubernetes.io/tls" },
          })
        : await this.core.createNamespacedSecret({
            namespace,
            body: {
              metadata: { name: secretName, labels: { ...managedByLabel } },
              type: "kubernetes.io/tls",
              data: encode(data),
            },
          });
    } catch (error) {
      if (apiFailure(error).code === 409) return undefined;
      throw error;
    }
  }

  /** Writes the bundle into every configuration; true when each that exists holds it now. */
  private async injectCaBundle(caBundle: string): Promise<boolean> {
    let trusted = true;
    for (const name of this.options.webhookConfigurations) {
      trusted &&= await this.update(
        () => this.admission.readMutatingWebhookConfiguration({ name }),
        (body) =>
          this.admission.replaceMutatingWebhookConfiguration({
            name,
            body: body as V1MutatingWebhookConfiguration,
          }),
        caBundle,
      );
      trusted &&= await this.update(
        () => this.admission.readValidatingWebhookConfiguration({ name }),
        (body) =>
          this.admission.replaceValidatingWebhookConfiguration({
            name,
            body: body as V1ValidatingWebhookConfiguration,
          }),
        caBundle,
      );
    }
    return trusted;
  }

  /**
   * Replaces a configuration (with the resourceVersion read) only when a caBundle differs; true when it
   * holds the bundle now, or does not exist (nothing to break).
   */
  private async update(
    read: () => Promise<V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration>,
    replace: (body: V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration) => Promise<unknown>,
    caBundle: string,
  ): Promise<boolean> {
    let configuration: V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration;
    try {
      configuration = await read();
    } catch (error) {
      if (apiFailure(error).code === 404) return true;
      throw error;
    }
    const stale = (configuration.webhooks ?? []).filter((w) => w.clientConfig.caBundle !== caBundle);
    if (stale.length === 0) return true;
    for (const webhook of configuration.webhooks ?? []) webhook.clientConfig.caBundle = caBundle;
    try {
      await replace(configuration);
      this.options.logger.info(
        { configuration: configuration.metadata?.name },
        "CA bundle written into webhook configuration",
      );
      return true;
    } catch (error) {
      if (apiFailure(error).code !== 409) throw error; // changed meanwhile: next round
      return false;
    }
  }
}

/** The names the serving certificate covers: the Service's DNS names, then any extra ones. */
export function servingNames(service: string, namespace: string, extra: readonly string[]): string[] {
  return [
    `${service}.${namespace}.svc`,
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc.cluster.local`,
    ...extra,
  ];
}
