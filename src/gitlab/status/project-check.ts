import type { Repository } from "../../core/repository.ts";
import type { PipelineRun } from "../../core/tekton.ts";
import { pac } from "../../core/vocabulary.ts";
import { GitLabError, type StatusApi } from "../client/api.ts";

/**
 * Where a token may write is decided by the Repository, never by a run's annotations alone: a tenant can
 * create a run in its own namespace annotated with another team's project ids and merge-request head sha,
 * and tekton-lineage writes with the Repository's (or the global) token. Statuses go to the Repository's
 * own project — its spec.url, resolved to an id by GitLab — or, for a merge request from a fork, to the
 * source project GitLab itself names as that merge request's source.
 */
export type ProjectVerdict = { projects: string[] } | { refused: string };

export interface AnnotatedProjects {
  source?: string;
  target?: string;
  mergeRequest?: number;
}

/** The decision, from what the run says and what GitLab says (the Repository's project, the MR's source). */
export function checkProjects(
  annotated: AnnotatedProjects,
  repositoryProject: number,
  mergeRequestSource?: number,
): ProjectVerdict {
  const own = String(repositoryProject);
  if (annotated.target !== undefined && annotated.target !== own)
    return { refused: `the run names project ${annotated.target}, but its Repository's project is ${own}` };
  const source = annotated.source ?? own;
  if (source === own) return { projects: [own] };
  if (annotated.mergeRequest === undefined)
    return {
      refused: `the run names source project ${source}, not its Repository's ${own}, and no merge request`,
    };
  if (mergeRequestSource === undefined)
    return { refused: `merge request !${annotated.mergeRequest} of project ${own} was not found` };
  if (String(mergeRequestSource) !== source)
    return {
      refused: `merge request !${annotated.mergeRequest} of project ${own} comes from project ${mergeRequestSource}, not ${source}`,
    };
  return { projects: [source, own] };
}

/** What a run's annotations say of its projects. */
export function annotatedProjects(run: PipelineRun): AnnotatedProjects {
  const read = (key: string) => run.metadata.annotations?.[key] ?? run.metadata.labels?.[key];
  const id = (value: string | undefined) => (value && /^[1-9]\d{0,18}$/.test(value) ? value : undefined);
  const mr = id(read(pac.pullRequest));
  return {
    source: id(read(pac.sourceProjectId)),
    target: id(read(pac.targetProjectId)),
    mergeRequest: mr === undefined ? undefined : Number(mr),
  };
}

/** The project path of a Repository's spec.url ("group/project"), if it has one. */
export function repositoryPath(repository: Repository | undefined): string | undefined {
  try {
    const url = repository?.spec?.url;
    const path = url ? new URL(url).pathname.replace(/^\/+|\/+$/g, "").replace(/\.git$/, "") : "";
    return path || undefined;
  } catch {
    return undefined;
  }
}

const ttlMs = 10 * 60_000;
const maxEntries = 2000;

/**
 * checkProjects with GitLab's answers, each kept ten minutes (at most 2000 of each; the oldest go first):
 * a project's id by its path, a merge request's source project. GitLab's 404 refuses; other errors throw
 * (the reporter retries them).
 */
export class ProjectCheck {
  private readonly ids = new RememberedAnswers<number>();
  private readonly sources = new RememberedAnswers<number | undefined>();
  private readonly clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.clock = clock;
  }

  async check(
    api: StatusApi,
    host: string,
    repository: Repository | undefined,
    run: PipelineRun,
  ): Promise<ProjectVerdict> {
    const path = repositoryPath(repository);
    if (!path) return { refused: "no Repository with a spec.url to check the run's project against" };
    const annotated = annotatedProjects(run);
    let project: number;
    try {
      project = await this.ids.get(`${host}|${path}`, this.clock(), () => api.projectId(path));
    } catch (error) {
      if (error instanceof GitLabError && (error.status === 404 || error.status === 403))
        return { refused: `the Repository's project ${path} is not known to GitLab (${error.status})` };
      throw error;
    }
    const source = annotated.source;
    const mr = annotated.mergeRequest;
    const needsSource = source !== undefined && source !== String(project) && mr !== undefined;
    const mergeRequestSource = needsSource
      ? await this.sources.get(`${host}|${project}|${mr}`, this.clock(), () =>
          api.mergeRequestSource(String(project), mr).catch((error: unknown) => {
            if (error instanceof GitLabError && error.status === 404) return undefined;
            throw error;
          }),
        )
      : undefined;
    return checkProjects(annotated, project, mergeRequestSource);
  }
}

/**
 * GitLab's answers by key, each kept ten minutes (at most 2000; the oldest go first). A lookup under way
 * is shared: lineages of one Repository reconciled at once ask GitLab once. A failed lookup is not kept.
 */
class RememberedAnswers<T> {
  private readonly answers = new Map<string, { value: T; at: number }>();
  private readonly asking = new Map<string, Promise<T>>();

  async get(key: string, now: number, load: () => Promise<T>): Promise<T> {
    const known = this.answers.get(key);
    if (known && now - known.at < ttlMs) return known.value;
    const under = this.asking.get(key);
    if (under) return under;
    const asked = load().then((value) => {
      this.answers.delete(key);
      this.answers.set(key, { value, at: now });
      if (this.answers.size > maxEntries) this.answers.delete(this.answers.keys().next().value as string);
      return value;
    });
    this.asking.set(key, asked);
    try {
      return await asked;
    } finally {
      this.asking.delete(key);
    }
  }
}
