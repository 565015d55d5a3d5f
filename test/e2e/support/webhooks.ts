import { readFileSync } from "node:fs";
import { join } from "node:path";
import { registerWebhooksByUrl } from "../controlplane/register-webhooks.ts";
import { waitUntilServing } from "./admission.ts";
import { adminKubeConfig, e2eContext } from "./context.ts";
import type { LineageProcess } from "./lineage-process.ts";
import { startTektonLineage } from "./tekton-lineage.ts";

export const suiteLabel = "tekton-lineage.io/e2e-suite";

export interface RegisterOptions {
  /** Scopes the configurations to namespaces labelled with this suite, so e2e files do not meet. */
  suite: string;
  port: number;
  mutatingFailurePolicy?: "Fail" | "Ignore";
  validatingFailurePolicy?: "Fail" | "Ignore";
  timeoutSeconds?: number;
  /** "-audit": the audit-mode routes (decided, reported, nothing changed). */
  pathSuffix?: string;
}

export interface RegisteredWebhooks {
  name: string;
  remove(): Promise<void>;
}

/** Registers webhook-config/base by URL (https://<webhookHost>:<port>) for the namespaces of one suite. */
export async function registerWebhooks(options: RegisterOptions): Promise<RegisteredWebhooks> {
  const context = e2eContext();
  const name = `tekton-lineage-e2e-${options.suite}`;
  const remove = await registerWebhooksByUrl(adminKubeConfig(), {
    name,
    baseUrl: `https://${context.webhookHost}:${options.port}`,
    caPem: readFileSync(join(context.certDir, "ca.crt"), "utf8"),
    namespaceLabels: { [suiteLabel]: options.suite },
    mutatingFailurePolicy: options.mutatingFailurePolicy,
    validatingFailurePolicy: options.validatingFailurePolicy,
    timeoutSeconds: options.timeoutSeconds,
    pathSuffix: options.pathSuffix,
  });
  return { name, remove };
}

/**
 * Registers the webhooks (as registerWebhooks) and waits until the API server calls `processes` for
 * PipelineRuns in `namespace`, so the test's first create meets them.
 */
export async function registerAndServe(
  options: RegisterOptions & { namespace: string; processes: LineageProcess | LineageProcess[] },
): Promise<RegisteredWebhooks> {
  const webhooks = await registerWebhooks(options);
  await waitUntilServing(
    adminKubeConfig(),
    options.namespace,
    options.processes,
    `/mutate${options.pathSuffix ?? ""}`,
  );
  return webhooks;
}

/**
 * A webhook process for these namespaces (`--watch-namespaces`, and `args`), registered for the suite
 * (mutating failurePolicy Fail) and serving the first namespace.
 */
export async function serveWebhook(options: {
  suite: string;
  namespaces: readonly string[];
  args?: string[];
}): Promise<{ webhook: LineageProcess; webhooks: RegisteredWebhooks }> {
  const webhook = await startTektonLineage({
    role: "webhook",
    args: [`--watch-namespaces=${options.namespaces.join(",")}`, ...(options.args ?? [])],
    logLevel: "info",
  });
  const webhooks = await registerAndServe({
    suite: options.suite,
    port: webhook.port,
    mutatingFailurePolicy: "Fail",
    namespace: options.namespaces[0] ?? "",
    processes: webhook,
  });
  return { webhook, webhooks };
}
