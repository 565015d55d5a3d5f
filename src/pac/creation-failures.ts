import type { CachedEvent } from "../kube/event-source.ts";
import type { InformerEvent, ObjectCache } from "../kube/informer.ts";

/**
 * Pipelines-as-Code's own record of a PipelineRun it could not create. pkg/pipelineascode/pipelineascode.go,
 * Run: when startPR fails, PaC calls
 *   eventEmitter.EmitMessage(repo, zap.ErrorLevel, "RepositoryPipelineRun",
 *     "There was an error starting the PipelineRun <generateName>, " + err)
 * where startPR's err reads "creating pipelinerun <generateName> in namespace <ns> has failed.\n\nTekton
 * Controller has reported this error: ```<the API server's message>``` ". pkg/events/emit.go, makeEvent:
 * the Event is on the Repository (involvedObject kind Repository), in its namespace, source component
 * "Pipelines As Code", labelled pipelinesascode.tekton.dev/repository.
 */
export const pacFailureReason = "RepositoryPipelineRun";

export interface CreationFailure {
  /**
   * create: the create was answered with an error (the run usually does not exist — unless the answer
   * was lost after the API server stored it). status: the run was created, but PaC could not post its
   * in_progress status and gave up on it (startPR returns before patching the run's state).
   */
  kind: "create" | "status";
  namespace: string;
  repository: string;
  /** The PipelineRun's generateName PaC tried to create (`<template name>-`). */
  generateName: string;
  /** The API server's own words. */
  error: string;
  /** When PaC recorded it (ms since the epoch). */
  at: number;
}

const failureMessage =
  /^There was an error starting the PipelineRun (\S+), creating pipelinerun \S+ in namespace \S+ has failed\.\s*Tekton Controller has reported this error: ```([\s\S]*?)```/;
/**
 * startPR's errors after a create that succeeded, when PaC gave up on the run it made: its in_progress
 * status could not be posted; or, before v0.45, the git-auth Secret's owner reference could not be set
 * ("cannot update pipelinerun <generateName> with ownerRef: …") or the state patch failed ("cannot patch
 * pipelinerun <generateName>: …") — v0.37.0 returns the created run with these errors; v0.50.0 only logs
 * a failed patch.
 */
const statusMessage =
  /^There was an error starting the PipelineRun (\S+), (?:cannot use the API on the provider platform to create a in_progress status|cannot update pipelinerun \S+ with ownerRef|cannot patch pipelinerun \S+): ([\s\S]*)$/;

/** The failure a PaC Event records, or undefined for any other Event. */
export function readCreationFailure(event: CachedEvent): CreationFailure | undefined {
  if (event.reason !== pacFailureReason || event.involvedObject?.kind !== "Repository") return undefined;
  const created = failureMessage.exec(event.message ?? "");
  const match = created ?? statusMessage.exec(event.message ?? "");
  if (!match) return undefined;
  const time =
    event.lastTimestamp ?? event.firstTimestamp ?? event.eventTime ?? event.metadata.creationTimestamp;
  const at = time === undefined ? Number.NaN : new Date(time as Date | string).getTime();
  if (!Number.isFinite(at)) return undefined;
  return {
    kind: created ? "create" : "status",
    namespace: event.metadata.namespace ?? "",
    repository: event.involvedObject.name ?? "",
    generateName: match[1] ?? "",
    error: (match[2] ?? "").trim(),
    at,
  };
}

/** The generateName PaC gives a template named `originalPrName` (pkg/resolve/remote.go: name + "-"). */
export function pacGenerateName(originalPrName: string): string {
  return originalPrName.endsWith("-") ? originalPrName : `${originalPrName}-`;
}

/** Keeps what the cache needs of an Event (its message can be long). */
export function trimEvent(raw: unknown): CachedEvent {
  const e = raw as CachedEvent;
  return {
    metadata: {
      name: e.metadata?.name,
      namespace: e.metadata?.namespace,
      resourceVersion: e.metadata?.resourceVersion,
      uid: e.metadata?.uid,
      creationTimestamp: e.metadata?.creationTimestamp,
    },
    involvedObject: {
      kind: e.involvedObject?.kind,
      name: e.involvedObject?.name,
      namespace: e.involvedObject?.namespace,
    },
    reason: e.reason,
    message: e.message?.slice(0, 4096),
    firstTimestamp: e.firstTimestamp,
    lastTimestamp: e.lastTimestamp,
    eventTime: e.eventTime,
  };
}

const repositoryIndex = "namespace/repository";

export interface FailureQuery {
  namespace: string;
  repository: string;
  /** The run's original-prname (PaC's template name). */
  pipeline: string;
  /** When the attempt was admitted (ms): PaC's failure follows the admission closely. */
  admittedAt: number;
  /** The name the attempt was admitted with, when known: a failure naming another run is another's. */
  name?: string;
}

/** The PipelineRun an API server's refusal names (`pipelineruns.tekton.dev "<name>" …`), if it names one. */
export function runNamedIn(error: string): string | undefined {
  return /pipelineruns(?:\.tekton\.dev)? "([a-z0-9]([-a-z0-9.]*[a-z0-9])?)"/.exec(error)?.[1];
}

/**
 * How far a PaC failure may be from the admission it answers: PaC records it right after its create call
 * returns, and the admission happens inside that call; a little clock skew before, PaC's own delays after.
 */
const before = 2_000;
const after = 30_000;

/** Whether PaC's failure could be the answer to a create admitted at `admittedAt` (ms). */
export function answers(failure: CreationFailure, admittedAt: number): boolean {
  return failure.at >= admittedAt - before && failure.at <= admittedAt + after;
}

/**
 * PaC's creation failures, from its Events: the corroboration tekton-lineage needs before it reports an
 * admitted attempt as never created (a counter alone may come from a review that never reached the API
 * server, a create that fell back, or a run that was created and pruned since).
 */
export class CreationFailures {
  private readonly events: ObjectCache<CachedEvent>;

  constructor(events: ObjectCache<CachedEvent>) {
    this.events = events;
    events.addIndex(repositoryIndex, (event) => {
      const failure = readCreationFailure(event);
      return failure ? `${failure.namespace}/${failure.repository}` : undefined;
    });
  }

  /**
   * PaC's failure to create this pipeline's run right after this admission: one that names this attempt's
   * run first, else the latest — never one that names another run (the create of another commit's attempt,
   * close in time: PaC's Events name no commit, and carry whole seconds).
   */
  find(query: FailureQuery): CreationFailure | undefined {
    const named = (f: CreationFailure) => runNamedIn(f.error);
    return this.of(query)
      .filter((f) => f.kind === "create" && answers(f, query.admittedAt))
      .filter((f) => !query.name || named(f) === undefined || named(f) === query.name)
      .sort((a, b) => Number(named(b) === query.name) - Number(named(a) === query.name) || b.at - a.at)[0];
  }

  /** Every failure PaC recorded of this pipeline of this repository (as long as its Events live). */
  of(query: { namespace: string; repository: string; pipeline: string }): CreationFailure[] {
    const generateName = pacGenerateName(query.pipeline);
    return this.events
      .byIndex(repositoryIndex, `${query.namespace}/${query.repository}`)
      .flatMap((event) => readCreationFailure(event) ?? [])
      .filter((f) => f.generateName === generateName);
  }

  get synced(): boolean {
    return this.events.synced;
  }

  whenSynced(): Promise<void> {
    return this.events.whenSynced();
  }

  /**
   * Changes of PaC's failure Events, as (namespace, repository), to wake what depends on them; `change`
   * says whether it is a resync (nothing changed).
   */
  onFailure(handler: (namespace: string, repository: string, change: InformerEvent) => void): void {
    this.events.onChange((event, change) => {
      if (change === "deleted") return;
      const failure = readCreationFailure(event);
      if (failure) handler(failure.namespace, failure.repository, change);
    });
  }
}
