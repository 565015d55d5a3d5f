import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";

/**
 * The Event Pipelines-as-Code emits on the Repository when a PipelineRun create fails
 * (pkg/pipelineascode/pipelineascode.go, Run → eventEmitter.EmitMessage(repo, zap.ErrorLevel,
 * "RepositoryPipelineRun", "There was an error starting the PipelineRun <generateName>, " + startPR's error);
 * pkg/events/emit.go, makeEvent: generateName "<repo>-", labelled and annotated with the repository,
 * involvedObject the Repository, source "Pipelines As Code", type Warning).
 */
export async function emitPacCreateFailure(
  kubeConfig: KubeConfig,
  options: { namespace: string; repository: string; generateName: string; apiServerMessage: string },
): Promise<void> {
  const { namespace, repository, generateName, apiServerMessage } = options;
  // startPR: fmt.Errorf("creating pipelinerun %s in namespace %s has failed.\n\nTekton Controller has
  // reported this error: ```%w``` ", generateName, namespace, err)
  const startError = `creating pipelinerun ${generateName} in namespace ${namespace} has failed.\n\nTekton Controller has reported this error: \`\`\`${apiServerMessage}\`\`\` `;
  const now = new Date();
  await kubeConfig.makeApiClient(CoreV1Api).createNamespacedEvent({
    namespace,
    body: {
      metadata: {
        generateName: `${repository}-`,
        namespace,
        labels: { "pipelinesascode.tekton.dev/repository": repository },
        annotations: { "pipelinesascode.tekton.dev/repository": repository },
      },
      message: `There was an error starting the PipelineRun ${generateName}, ${startError}`,
      reason: "RepositoryPipelineRun",
      type: "Warning",
      involvedObject: {
        apiVersion: "pipelinesascode.tekton.dev/v1alpha1",
        kind: "Repository",
        namespace,
        name: repository,
      },
      source: { component: "Pipelines As Code" },
      reportingComponent: "Pipelines As Code",
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    },
  });
}
