import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  ApiextensionsV1Api,
  CoreV1Api,
  type KubeConfig,
  loadAllYaml,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import { apiFailure } from "../../../src/kube/api-errors.ts";
import { eventually } from "../support/poll.ts";

/** The CRDs shipped beside the repository in ../shared/crds (Tekton's PipelineRun, PaC's Repository). */
export const sharedCrdFiles = ["tekton-pipelinerun.yaml", "pac-repository.yaml"].map((name) =>
  fileURLToPath(new URL(`../../../../shared/crds/${name}`, import.meta.url)),
);

/** A minimal TaskRun CRD of our own (the shared folder has none), so failing tasks can be named in tests. */
export const testCrdFiles = [fileURLToPath(new URL("./taskrun-crd.yaml", import.meta.url))];

/**
 * Installs a CRD unless the cluster already has it (an existing cluster with Tekton keeps its own).
 * The conversion webhook block is dropped: it points at Tekton's webhook Service, which is not here.
 */
export async function installCrds(kubeConfig: KubeConfig, files: string[]): Promise<string[]> {
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const installed: string[] = [];
  for (const file of files) {
    for (const doc of loadAllYaml(readFileSync(file, "utf8")) as V1CustomResourceDefinition[]) {
      if (doc?.kind !== "CustomResourceDefinition") continue;
      const name = doc.metadata?.name ?? "";
      if (doc.spec.conversion?.strategy === "Webhook") doc.spec.conversion = { strategy: "None" };
      try {
        await api.createCustomResourceDefinition({ body: doc });
        installed.push(name);
      } catch (error) {
        if (apiFailure(error).code !== 409) throw error;
      }
      await eventually(`CRD ${name} to be established`, async () => {
        const crd = await api.readCustomResourceDefinition({ name });
        return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
      });
    }
  }
  return installed;
}

export async function ensureNamespace(
  kubeConfig: KubeConfig,
  name: string,
  labels: Record<string, string> = {},
) {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  try {
    await api.createNamespace({ body: { metadata: { name, labels } } });
  } catch (error) {
    if (apiFailure(error).code !== 409) throw error;
  }
}
