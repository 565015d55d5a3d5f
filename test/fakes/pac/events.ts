import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";

/** The Repository an Event is about. */
export interface RepositoryRef {
  namespace: string;
  name: string;
  uid?: string;
}

/**
 * pkg/events/emit.go, EventEmitter.EmitMessage → makeEvent: an Event on the Repository, in its namespace,
 * generateName "<repo>-", labelled and annotated with the repository, source and reporting controller
 * "Pipelines As Code", Warning unless the level is Info. A failure to create it is only logged by PaC.
 */
export async function emitMessage(
  kubeConfig: KubeConfig,
  repo: RepositoryRef,
  level: "error" | "warn" | "info",
  reason: string,
  message: string,
): Promise<void> {
  const now = new Date();
  await kubeConfig
    .makeApiClient(CoreV1Api)
    .createNamespacedEvent({
      namespace: repo.namespace,
      body: {
        metadata: {
          generateName: `${repo.name}-`,
          namespace: repo.namespace,
          labels: { "pipelinesascode.tekton.dev/repository": repo.name },
          annotations: { "pipelinesascode.tekton.dev/repository": repo.name },
        },
        message,
        reason,
        type: level === "info" ? "Normal" : "Warning",
        involvedObject: {
          apiVersion: "pipelinesascode.tekton.dev/v1alpha1",
          kind: "Repository",
          namespace: repo.namespace,
          name: repo.name,
          uid: repo.uid,
        },
        source: { component: "Pipelines As Code" },
        reportingComponent: "Pipelines As Code",
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    })
    .catch(() => undefined);
}
