import type { PacEvent } from "./provider.ts";
import type { PacBehaviour } from "./versions.ts";

const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const managed: Record<string, string> = { ":": "-", "/": "-", " ": "_", "[": "__", "]": "__" };

/** pkg/formatting/k8labels.go, CleanValueKubernetes: a valid label value out of any string. */
export function cleanValueKubernetes(value: string): string {
  if (value.length <= 63 && labelValue.test(value)) return value;
  const sanitized = [...value].filter((c) => /[A-Za-z0-9._-]/.test(c) || c in managed).join("");
  const replaced = [...sanitized].map((c) => managed[c] ?? c).join("");
  const trimmed = replaced.replace(/^[._-]+|[._-]+$/g, "");
  const cut = trimmed.length > 63 ? trimmed.slice(trimmed.length - 63) : trimmed;
  return cut.replace(/^[._-]+/, "");
}

/** The run template PaC resolved from .tekton/ (pkg/resolve/resolve.go: original-prname set). */
export interface RunTemplate {
  metadata: {
    name?: string;
    generateName?: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  spec: Record<string, unknown>;
}

/** PaC's controller settings written on each run (controller-info). */
export const controllerInfo = {
  name: "default",
  configmap: "pipelines-as-code",
  secret: "pipelines-as-code-secret",
  gRepo: "pipelines-as-code",
};

/**
 * pkg/kubeinteraction/labels.go, AddLabelsAndAnnotations: the labels (selectable, cleaned) and annotations
 * (exact values) PaC puts on every run it creates, the GitLab ones included.
 */
export function addLabelsAndAnnotations(
  event: PacEvent,
  run: RunTemplate,
  repositoryName: string,
  version: string,
  behaviour: Pick<PacBehaviour, "watcherMakesGitAuthSecret">,
): void {
  const labels: Record<string, string> = {
    "app.kubernetes.io/managed-by": "pipelinesascode.tekton.dev",
    "app.kubernetes.io/version": cleanValueKubernetes(version),
    "pipelinesascode.tekton.dev/url-org": cleanValueKubernetes(event.organization),
    "pipelinesascode.tekton.dev/url-repository": cleanValueKubernetes(event.repository),
    "pipelinesascode.tekton.dev/sha": cleanValueKubernetes(event.sha),
    "pipelinesascode.tekton.dev/repository": cleanValueKubernetes(repositoryName),
    "pipelinesascode.tekton.dev/state": "started",
    "pipelinesascode.tekton.dev/event-type": cleanValueKubernetes(event.eventType),
  };
  const annotations: Record<string, string> = {
    "pipelinesascode.tekton.dev/sha-title": event.shaTitle,
    "pipelinesascode.tekton.dev/sha-url": `${event.url}/-/commit/${event.sha}`,
    "pipelinesascode.tekton.dev/repo-url": event.url,
    "pipelinesascode.tekton.dev/source-repo-url": event.headUrl,
    "pipelinesascode.tekton.dev/url-org": event.organization,
    "pipelinesascode.tekton.dev/url-repository": event.repository,
    "pipelinesascode.tekton.dev/sha": event.sha,
    "pipelinesascode.tekton.dev/sender": event.sender,
    "pipelinesascode.tekton.dev/event-type": event.eventType,
    "pipelinesascode.tekton.dev/branch": event.baseBranch,
    "pipelinesascode.tekton.dev/source-branch": event.headBranch,
    "pipelinesascode.tekton.dev/repository": repositoryName,
    "pipelinesascode.tekton.dev/git-provider": "gitlab",
    "pipelinesascode.tekton.dev/controller-info": `{"name":"${controllerInfo.name}","configmap":"${controllerInfo.configmap}","secret":"${controllerInfo.secret}", "gRepo": "${controllerInfo.gRepo}"}`,
  };
  if (behaviour.watcherMakesGitAuthSecret) annotations["pipelinesascode.tekton.dev/secret-created"] = "false";
  if (event.pullRequestNumber !== 0) {
    labels["pipelinesascode.tekton.dev/pull-request"] = String(event.pullRequestNumber);
    annotations["pipelinesascode.tekton.dev/pull-request"] = String(event.pullRequestNumber);
  }
  if (event.sourceProjectId !== 0)
    annotations["pipelinesascode.tekton.dev/source-project-id"] = String(event.sourceProjectId);
  if (event.targetProjectId !== 0)
    annotations["pipelinesascode.tekton.dev/target-project-id"] = String(event.targetProjectId);
  annotations["pipelinesascode.tekton.dev/clone-url"] = `${event.headUrl}.git`;
  const cancel = run.metadata.annotations["pipelinesascode.tekton.dev/cancel-in-progress"];
  if (cancel !== undefined) labels["pipelinesascode.tekton.dev/cancel-in-progress"] = cancel;
  Object.assign(run.metadata.labels, labels);
  Object.assign(run.metadata.annotations, annotations);
}

/** pkg/resolve/resolve.go: a template from .tekton/ gets original-prname, and PaC creates it by generateName. */
export function resolvedTemplate(
  name: string,
  extra: { annotations?: Record<string, string>; spec?: Record<string, unknown> } = {},
): RunTemplate {
  return {
    metadata: {
      generateName: `${name}-`,
      labels: { "pipelinesascode.tekton.dev/original-prname": cleanValueKubernetes(name) },
      annotations: { "pipelinesascode.tekton.dev/original-prname": name, ...extra.annotations },
    },
    spec: { pipelineRef: { name: "build" }, ...extra.spec },
  };
}
