import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  AdmissionregistrationV1Api,
  type KubeConfig,
  loadAllYaml,
  type V1LabelSelector,
  type V1MutatingWebhookConfiguration,
  type V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import { apiFailure } from "../../../src/kube/api-errors.ts";

const baseFile = fileURLToPath(new URL("../../../webhook-config/base/webhooks.yaml", import.meta.url));

export interface WebhookRegistration {
  /** Name of both configurations. */
  name: string;
  /** https://host:port; each webhook's path is appended. */
  baseUrl: string;
  caPem: string;
  /** Labels a namespace must carry, on top of the base selector. */
  namespaceLabels?: Record<string, string>;
  mutatingFailurePolicy?: "Fail" | "Ignore";
  validatingFailurePolicy?: "Fail" | "Ignore";
  timeoutSeconds?: number;
  /** Appended to every webhook's path: "-audit" registers the audit-mode routes. */
  pathSuffix?: string;
}

type AnyConfiguration = V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration;

/** The configurations of webhook-config/base, pointed at a URL instead of the in-cluster Service. */
export function webhookConfigurationsByUrl(options: WebhookRegistration): AnyConfiguration[] {
  const caBundle = Buffer.from(options.caPem).toString("base64");
  const docs = loadAllYaml(readFileSync(baseFile, "utf8")) as AnyConfiguration[];
  for (const doc of docs) {
    doc.metadata = { ...doc.metadata, name: options.name };
    for (const webhook of doc.webhooks ?? []) {
      const path = webhook.clientConfig.service?.path ?? "/";
      webhook.clientConfig = { url: `${options.baseUrl}${path}${options.pathSuffix ?? ""}`, caBundle };
      if (options.namespaceLabels) {
        const selector: V1LabelSelector = webhook.namespaceSelector ?? {};
        webhook.namespaceSelector = {
          ...selector,
          matchLabels: { ...selector.matchLabels, ...options.namespaceLabels },
        };
      }
      if (options.timeoutSeconds) webhook.timeoutSeconds = options.timeoutSeconds;
      const policy =
        doc.kind === "MutatingWebhookConfiguration"
          ? options.mutatingFailurePolicy
          : options.validatingFailurePolicy;
      if (policy) webhook.failurePolicy = policy;
    }
  }
  return docs;
}

/** Creates or replaces both configurations; returns a function that removes them. */
export async function registerWebhooksByUrl(kubeConfig: KubeConfig, options: WebhookRegistration) {
  const api = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const name = options.name;
  for (const doc of webhookConfigurationsByUrl(options)) {
    if (doc.kind === "MutatingWebhookConfiguration") {
      const body = doc as V1MutatingWebhookConfiguration;
      await createOrReplace(
        () => api.createMutatingWebhookConfiguration({ body }),
        async () => {
          const current = await api.readMutatingWebhookConfiguration({ name });
          body.metadata = { ...body.metadata, resourceVersion: current.metadata?.resourceVersion };
          await api.replaceMutatingWebhookConfiguration({ name, body });
        },
      );
    } else {
      const body = doc as V1ValidatingWebhookConfiguration;
      await createOrReplace(
        () => api.createValidatingWebhookConfiguration({ body }),
        async () => {
          const current = await api.readValidatingWebhookConfiguration({ name });
          body.metadata = { ...body.metadata, resourceVersion: current.metadata?.resourceVersion };
          await api.replaceValidatingWebhookConfiguration({ name, body });
        },
      );
    }
  }
  return async () => {
    await ignoreNotFound(api.deleteMutatingWebhookConfiguration({ name }));
    await ignoreNotFound(api.deleteValidatingWebhookConfiguration({ name }));
  };
}

async function createOrReplace(create: () => Promise<unknown>, replace: () => Promise<unknown>) {
  try {
    await create();
  } catch (error) {
    if (apiFailure(error).code !== 409) throw error;
    await replace();
  }
}

async function ignoreNotFound(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (apiFailure(error).code !== 404) throw error;
  }
}
