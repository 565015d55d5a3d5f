import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1MutatingWebhookConfiguration,
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

  constructor(options: CertificateManagerOptions) {
    this.options = options;
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.admission = options.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  }

  async reconcile(): Promise<void> {
    const { namespace, secretName, policy, logger } = this.options;
    const secret = await this.core
      .readNamespacedSecret({ name: secretName, namespace })
      .catch((error: unknown) => {
        if (apiFailure(error).code === 404) return undefined;
        throw error;
      });
    const data = decode(secret?.data);
    const now = new Date();
    const action = certificateAction(data, policy, now);
    let bundle = data[tlsKeys.ca] ?? "";
    if (action.action !== "none") {
      const { generateCa, issueServing } = await import("../server/certificates.ts");
      const currentCa = bundle.split(/(?<=-----END CERTIFICATE-----)/)[0]?.trim() ?? "";
      let ca = { certPem: currentCa, keyPem: data[tlsKeys.caKey] ?? "" };
      if (action.action === "renew-ca") {
        ca = await generateCa("tekton-lineage CA", now, policy.caValidMs);
        bundle = caBundle(ca.certPem, currentCa || undefined, now);
      }
      const serving = await issueServing(ca, splitSans(policy.sans), now, policy.servingValidMs);
      const next = {
        [tlsKeys.ca]: bundle,
        [tlsKeys.caKey]: ca.keyPem,
        [tlsKeys.cert]: serving.certPem,
        [tlsKeys.key]: serving.keyPem,
      };
      try {
        if (secret) {
          await this.core.replaceNamespacedSecret({
            name: secretName,
            namespace,
            body: { ...secret, data: encode(next), type: "kubernetes.io/tls" },
          });
        } else {
          await this.core.createNamespacedSecret({
            namespace,
            body: {
              metadata: { name: secretName, labels: { ...managedByLabel } },
              type: "kubernetes.io/tls",
              data: encode(next),
            },
          });
        }
      } catch (error) {
        if (apiFailure(error).code === 409) return; // another writer won; read again next round
        throw error;
      }
      logger.info(
        { secret: secretName, why: action.why, renewed: action.action },
        "serving certificate renewed",
      );
    }
    if (bundle) await this.injectCaBundle(Buffer.from(bundle).toString("base64"));
  }

  private async injectCaBundle(caBundle: string): Promise<void> {
    for (const name of this.options.webhookConfigurations) {
      await this.update(
        () => this.admission.readMutatingWebhookConfiguration({ name }),
        (body) =>
          this.admission.replaceMutatingWebhookConfiguration({
            name,
            body: body as V1MutatingWebhookConfiguration,
          }),
        caBundle,
      );
      await this.update(
        () => this.admission.readValidatingWebhookConfiguration({ name }),
        (body) =>
          this.admission.replaceValidatingWebhookConfiguration({
            name,
            body: body as V1ValidatingWebhookConfiguration,
          }),
        caBundle,
      );
    }
  }

  /** Replaces a configuration (with the resourceVersion read) only when a caBundle differs. */
  private async update(
    read: () => Promise<V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration>,
    replace: (body: V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration) => Promise<unknown>,
    caBundle: string,
  ): Promise<void> {
    let configuration: V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration;
    try {
      configuration = await read();
    } catch (error) {
      if (apiFailure(error).code === 404) return;
      throw error;
    }
    const stale = (configuration.webhooks ?? []).filter((w) => w.clientConfig.caBundle !== caBundle);
    if (stale.length === 0) return;
    for (const webhook of configuration.webhooks ?? []) webhook.clientConfig.caBundle = caBundle;
    try {
      await replace(configuration);
      this.options.logger.info(
        { configuration: configuration.metadata?.name },
        "CA bundle written into webhook configuration",
      );
    } catch (error) {
      if (apiFailure(error).code !== 409) throw error; // changed meanwhile: next round
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
