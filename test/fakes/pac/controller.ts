import { randomBytes } from "node:crypto";
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Secret,
} from "@kubernetes/client-node";
import { type PipelineRun, pipelineRunResource } from "../../../src/core/tekton.ts";
import { apiFailure } from "../../../src/kube/api-errors.ts";
import type { ConsoleUI } from "./console.ts";
import { emitMessage, type RepositoryRef } from "./events.ts";
import { addLabelsAndAnnotations, type RunTemplate } from "./labels.ts";
import type { GitLabProvider, PacEvent } from "./provider.ts";
import type { PacBehaviour } from "./versions.ts";

/** What PaC's controller needs of its settings for one event. */
export interface RunContext {
  kubeConfig: KubeConfig;
  repo: RepositoryRef & { concurrencyLimit?: number };
  console: ConsoleUI;
  provider: GitLabProvider;
  version: string;
  behaviour: PacBehaviour;
  /**
   * The API server stores each create but its answer never reaches PaC: client-go returns the server
   * timeout PaC then reports, as a create that failed.
   */
  answerLost?: boolean;
}

/** What client-go returns for a create whose answer timed out (apimachinery, NewServerTimeout). */
export const serverTimeout =
  "the server was unable to return a response in the time allotted, but may still be processing the request (post pipelineruns.tekton.dev)";

/**
 * What became of one matched template: created (and patched), or failed — with the run, when it was
 * created but its in_progress status could not be posted (PaC then reports a failure for a run that
 * exists, and never patches its state: its watcher will not see it).
 */
export type StartResult = { created: PipelineRun } | { failed: string; run?: PipelineRun };

const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** secrets.MakeBasicAuthSecret: the git-auth Secret a run's clone reads (the token itself left out here). */
export function gitAuthSecretOf(name: string, repoUrl: string): V1Secret {
  return {
    metadata: { name, labels: { "app.kubernetes.io/managed-by": "pipelinesascode.tekton.dev" } },
    stringData: { ".git-credentials": `https://git:token@${new URL(repoUrl).host}`, ".gitconfig": "" },
  };
}

/** startPR's error for a create that failed, with the API server's (or client-go's) words. */
function createFailed(context: RunContext, template: RunTemplate, words: string): string {
  return `creating pipelinerun ${template.metadata.generateName} in namespace ${context.repo.namespace} has failed.\n\nTekton Controller has reported this error: \`\`\`${words}\`\`\` `;
}

/**
 * pkg/pipelineascode/pipelineascode.go, PacRun.Run, from the matched templates on: every template is
 * started in parallel (startPR); when a start fails, PaC records it on the Repository (reason
 * RepositoryPipelineRun) and posts a `failure` status linked to the console's root — named by the
 * application alone before v0.39, by application and pipeline since.
 */
export async function runEvent(
  context: RunContext,
  event: PacEvent,
  templates: readonly RunTemplate[],
): Promise<StartResult[]> {
  const results = await Promise.all(
    templates.map(async (template) => {
      const started = await startPR(context, event, template);
      if ("created" in started) {
        await cancelInProgress(context, event, started.created);
        return started;
      }
      const generateName = template.metadata.generateName ?? "";
      await emitMessage(
        context.kubeConfig,
        context.repo,
        "error",
        "RepositoryPipelineRun",
        `There was an error starting the PipelineRun ${generateName}, ${started.failed}`,
      );
      await context.provider
        .createStatus(event, {
          status: "completed",
          conclusion: "failure",
          title: "pipelinerun start failure",
          text: `There was an error creating the PipelineRun: <b>${generateName}</b>\n\n${started.failed}`,
          detailsURL: context.console.url(),
          pipelineRun: { ...template.metadata, annotations: template.metadata.annotations },
          originalPipelineRunName: context.behaviour.failureNamesPipeline
            ? template.metadata.annotations["pipelinesascode.tekton.dev/original-prname"]
            : undefined,
        })
        .catch(() => undefined);
      return started;
    }),
  );
  await patchExecutionOrder(context, results);
  return results;
}

/**
 * cancel_pipelineruns.go, cancelInProgressMatchingPipelineRun: with the template's cancel-in-progress
 * (and no concurrency limit), the runs of the same pipeline of the same merge request (or push) and
 * branch that are neither done nor already cancelled are cancelled gracefully — CancelledRunFinally,
 * which PaC's watcher does not report until Tekton ends the run.
 */
async function cancelInProgress(context: RunContext, event: PacEvent, created: PipelineRun): Promise<void> {
  const a = created.metadata.annotations ?? {};
  if (a["pipelinesascode.tekton.dev/cancel-in-progress"] !== "true" || context.repo.concurrencyLimit) return;
  const labels = created.metadata.labels ?? {};
  const selector = [
    `pipelinesascode.tekton.dev/url-repository=${labels["pipelinesascode.tekton.dev/url-repository"]}`,
    `pipelinesascode.tekton.dev/original-prname=${labels["pipelinesascode.tekton.dev/original-prname"]}`,
    ...(event.pullRequestNumber > 0
      ? [`pipelinesascode.tekton.dev/pull-request=${event.pullRequestNumber}`]
      : []),
  ].join(",");
  const api = context.kubeConfig.makeApiClient(CustomObjectsApi);
  const listed = (await api.listNamespacedCustomObject({
    ...pipelineRunResource,
    namespace: context.repo.namespace,
    labelSelector: selector,
  })) as { items: PipelineRun[] };
  for (const run of listed.items) {
    const other = run.metadata.annotations ?? {};
    const done = run.status?.conditions?.some((c) => c.type === "Succeeded" && c.status !== "Unknown");
    if (run.metadata.name === created.metadata.name || done || run.spec?.status?.startsWith("Cancelled"))
      continue;
    if (run.spec?.status === "StoppedRunFinally") continue;
    if ((other["pipelinesascode.tekton.dev/source-branch"] ?? event.headBranch) !== event.headBranch)
      continue;
    await api
      .patchNamespacedCustomObject(
        {
          ...pipelineRunResource,
          namespace: context.repo.namespace,
          name: run.metadata.name ?? "",
          body: { spec: { status: "CancelledRunFinally" } },
        },
        merge,
      )
      .catch(() => undefined);
  }
}

/**
 * ConcurrencyManager (concurrency.go), enabled only for a Repository with a limit: the runs created for
 * the event, sorted by name, written as execution-order on each of them — what PaC's watcher queues by.
 */
async function patchExecutionOrder(context: RunContext, results: readonly StartResult[]): Promise<void> {
  if (!context.repo.concurrencyLimit) return;
  const created = results.flatMap((r) => ("created" in r ? [r.created] : []));
  const names = created.map((r) => r.metadata.name ?? "").sort();
  if (names.length === 0) return;
  const order = names.map((name) => `${context.repo.namespace}/${name}`).join(",");
  const api = context.kubeConfig.makeApiClient(CustomObjectsApi);
  for (const name of names) {
    await api
      .patchNamespacedCustomObject(
        {
          ...pipelineRunResource,
          namespace: context.repo.namespace,
          name,
          body: { metadata: { annotations: { "pipelinesascode.tekton.dev/execution-order": order } } },
        },
        merge,
      )
      .catch(() => undefined);
  }
}

/**
 * PacRun.startPR: labels and annotations (AddLabelsAndAnnotations); Pending when the Repository has a
 * concurrency limit; one create, never retried; then the in_progress (or queued) status linked to the run
 * (ConsoleUI().DetailURL), and a patch of the state, scm-reporting-plr-started and log-url annotations —
 * only after a create that succeeded, so a run stored although the create answered an error is never seen
 * by PaC's watcher.
 */
async function startPR(context: RunContext, event: PacEvent, template: RunTemplate): Promise<StartResult> {
  const run: RunTemplate = structuredClone(template);
  // match.go: with secret auto-creation every run names a git-auth Secret of its own.
  const gitAuthSecret = `pac-gitauth-${randomBytes(3).toString("hex")}`;
  run.metadata.annotations["pipelinesascode.tekton.dev/git-auth-secret"] = gitAuthSecret;
  const core = context.kubeConfig.makeApiClient(CoreV1Api);
  const namespace = context.repo.namespace;
  // Before v0.45 startPR makes the Secret before the create, and deletes it when the create fails
  // ("cleanup the gitauth secret because ownerRef isn't set"); from v0.45 the watcher makes it.
  if (!context.behaviour.watcherMakesGitAuthSecret)
    await core.createNamespacedSecret({ namespace, body: gitAuthSecretOf(gitAuthSecret, event.url) });
  addLabelsAndAnnotations(event, run, context.repo.name, context.version, context.behaviour);
  const pending = (context.repo.concurrencyLimit ?? 0) !== 0;
  if (pending) run.spec.status = "PipelineRunPending";
  const api = context.kubeConfig.makeApiClient(CustomObjectsApi);
  const deleteSecret = async () => {
    if (!context.behaviour.watcherMakesGitAuthSecret)
      await core.deleteNamespacedSecret({ namespace, name: gitAuthSecret }).catch(() => undefined);
  };
  let created: PipelineRun;
  try {
    created = (await api.createNamespacedCustomObject({
      ...pipelineRunResource,
      namespace,
      body: { apiVersion: "tekton.dev/v1", kind: "PipelineRun", ...run },
    })) as PipelineRun;
  } catch (error) {
    await deleteSecret();
    return { failed: createFailed(context, template, apiFailure(error).message) };
  }
  if (context.answerLost) {
    // client-go's timeout is an error like any other: the Secret goes, although the run was stored.
    await deleteSecret();
    return { failed: createFailed(context, template, serverTimeout), run: created };
  }
  const name = created.metadata.name ?? "";
  const consoleUrl = context.console.detailUrl(context.repo.namespace, name);
  const queued = created.spec?.status === "PipelineRunPending";
  try {
    await context.provider.createStatus(event, {
      status: queued ? "queued" : "in_progress",
      conclusion: "pending",
      detailsURL: consoleUrl,
      pipelineRun: {
        namespace: context.repo.namespace,
        name,
        annotations: created.metadata.annotations ?? {},
      },
      originalPipelineRunName: created.metadata.annotations?.["pipelinesascode.tekton.dev/original-prname"],
    });
  } catch (error) {
    return {
      failed: `cannot use the API on the provider platform to create a in_progress status: ${(error as Error).message}`,
      run: created,
    };
  }
  const state = queued ? "queued" : "started";
  const annotations: Record<string, string> = {
    "pipelinesascode.tekton.dev/state": state,
    "pipelinesascode.tekton.dev/log-url": consoleUrl,
    ...(queued ? {} : { "pipelinesascode.tekton.dev/scm-reporting-plr-started": "true" }),
  };
  const patched = (await api
    .patchNamespacedCustomObject(
      {
        ...pipelineRunResource,
        namespace: context.repo.namespace,
        name,
        body: { metadata: { annotations, labels: { "pipelinesascode.tekton.dev/state": state } } },
      },
      merge,
    )
    .catch(() => created)) as PipelineRun;
  return { created: patched };
}
