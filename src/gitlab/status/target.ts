import { defaultSecretKey, type SecretRef } from "../../config/parsers.ts";
import { effectiveGitProvider, type Repository } from "../../core/repository.ts";
import type { RunWriter } from "../../core/run-actions.ts";
import type { PipelineRun } from "../../core/tekton.ts";
import { pac, reconcilerKeys } from "../../core/vocabulary.ts";
import { GitLabError } from "../client/api.ts";

export interface ReportSettings {
  /** GitLab when the Repository names none (https://gitlab.example). */
  gitlabUrl: string;
  /** Token when the Repository names none; it only ever goes to gitlabUrl's host. */
  tokenSecret?: SecretRef;
  /** The namespaces whose runs that token may report (--gitlab-token-namespaces); none by default. */
  tokenNamespaces?: readonly string[];
  /** Hosts (host or host:port) any token may be sent to, besides gitlabUrl's (--gitlab-hosts). */
  allowedHosts: readonly string[];
  /** The first part of PaC's status name (--gitlab-application, else PaC's application-name). */
  application: string;
  /** Status name template: {application}, {pipeline}. */
  contextTemplate: string;
}

/** Where a lineage's status goes in GitLab. */
export interface ReportTarget {
  host: string;
  secret: SecretRef;
  /**
   * Where to try, in order (project ids, or a "group/project" path): the merge request's source project,
   * then its target project, as PaC does (a fork's token usually cannot write to the fork).
   */
  projects: readonly string[];
  sha: string;
  pipelineId?: number;
  /** The lineage's status name: `<application> / <pipeline>`. */
  context: string;
  /** The bare application name: the status name PaC gives a failure that names no pipeline. */
  application: string;
}

/** host[:port] of a URL, lower case; "" when it is not one. */
export function hostOf(url: string | undefined): string {
  try {
    return url ? new URL(url).host.toLowerCase() : "";
  } catch {
    return "";
  }
}

/** host[:port] of an allow-list entry: a host, host:port, or a URL. */
function allowedHost(entry: string): string {
  return entry.includes("://") ? hostOf(entry) : entry.trim().toLowerCase();
}

/**
 * Reads where to report from the run (PaC's annotations: project ids, sha, source branch, the MR pipeline
 * id) and its Repository (GitLab URL and token Secret) merged with PaC's global Repository as PaC merges
 * them — so tekton-lineage writes as the same GitLab user, to the same host, as PaC — falling back to the
 * configured defaults. The Repository's host wins over --gitlab-url, as in PaC.
 *
 * A token goes only where an administrator allowed: the Repository's host (chosen by a tenant) must be
 * --gitlab-url's or listed in --gitlab-hosts; a token inherited from the global Repository goes only to
 * the global Repository's own host, and the global token (--gitlab-token-secret) only to --gitlab-url's.
 * A host out of bounds is refused, never contacted.
 */
export function reportTarget(
  run: PipelineRun,
  repository: Repository | undefined,
  settings: ReportSettings,
  globalRepository?: Repository,
): ReportTarget | { skip: string } | { refused: string } {
  const a = run.metadata.annotations ?? {};
  const l = run.metadata.labels ?? {};
  const read = (key: string) => a[key] ?? l[key];
  const gitProvider = effectiveGitProvider(repository, globalRepository);
  const provider = read(pac.gitProvider) ?? gitProvider.type;
  if (provider && provider !== "gitlab") return { skip: `git provider is ${provider}` };
  const sha = read(pac.sha);
  if (!sha) return { skip: "no commit sha on the run" };
  const repoUrl = repository?.spec?.url ?? read(pac.repoUrl);
  const host = trimSlash(gitProvider.url || settings.gitlabUrl || "") || originOf(repoUrl);
  if (!host) return { skip: "no GitLab URL (Repository spec.git_provider.url or --gitlab-url)" };
  const globalHost = hostOf(settings.gitlabUrl);
  const allowed = new Set([...settings.allowedHosts.map(allowedHost), globalHost].filter(Boolean));
  if (!allowed.has(hostOf(host))) {
    return {
      refused: `GitLab host ${hostOf(host) || host} is not allowed: only ${[...allowed].join(", ") || "(none)"} (--gitlab-url, --gitlab-hosts)`,
    };
  }
  let secret: SecretRef | undefined;
  const inherited = gitProvider.inheritedFrom;
  if (inherited && hostOf(host) !== hostOf(inherited.url) && hostOf(host) !== globalHost)
    return {
      refused: `the token of PaC's global Repository goes only to ${hostOf(inherited.url) || globalHost || "its own host"}, not ${hostOf(host)}`,
    };
  if (gitProvider.secret) {
    secret = { ...gitProvider.secret, key: gitProvider.secret.key || defaultSecretKey };
  } else if (settings.tokenSecret) {
    const namespace = run.metadata.namespace ?? "";
    if (!settings.tokenNamespaces?.includes(namespace))
      return {
        skip: `the global token (--gitlab-token-secret) is not granted to namespace ${namespace} (--gitlab-token-namespaces), and its Repository names no token`,
      };
    if (hostOf(host) !== globalHost)
      return {
        refused: `the global token (--gitlab-token-secret) goes only to ${globalHost || "--gitlab-url"}, not ${hostOf(host)}`,
      };
    secret = settings.tokenSecret;
  }
  if (!secret)
    return { skip: "no token Secret (Repository spec.git_provider.secret or --gitlab-token-secret)" };
  const ids = [positive(read(pac.sourceProjectId)), positive(read(pac.targetProjectId))];
  const projects = [
    ...new Set(
      ids.some(Boolean)
        ? ids.filter((id): id is string => id !== undefined)
        : [pathOf(read(pac.urlOrg), read(pac.urlRepository)) ?? pathFromUrl(repoUrl) ?? ""].filter(Boolean),
    ),
  ];
  if (projects.length === 0)
    return { skip: "no GitLab project (source-project-id, target-project-id or repository URL)" };
  const pipeline = Number(a[reconcilerKeys.gitlabPipelineId] ?? read(pac.gitlabPipelineId));
  const pipelineName = read(pac.originalPrName);
  const context = pipelineName
    ? settings.contextTemplate
        .replaceAll("{application}", settings.application)
        .replaceAll("{pipeline}", pipelineName)
    : settings.application;
  return {
    host,
    secret,
    projects,
    sha,
    pipelineId: Number.isSafeInteger(pipeline) && pipeline > 0 ? pipeline : undefined,
    context,
    application: settings.application,
  };
}

function positive(value: string | undefined): string | undefined {
  return value && /^[1-9]\d*$/.test(value) ? value : undefined;
}

function pathOf(org: string | undefined, repository: string | undefined): string | undefined {
  return org && repository ? `${org}/${repository}` : undefined;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

export function originOf(url: string | undefined): string {
  try {
    return url ? new URL(url).origin : "";
  } catch {
    return "";
  }
}

function pathFromUrl(url: string | undefined): string | undefined {
  try {
    const path = url ? new URL(url).pathname.replace(/^\/+|\/+$/g, "").replace(/\.git$/, "") : "";
    return path || undefined;
  } catch {
    return undefined;
  }
}

/**
 * GitLab's answer that a project is not one this token may write to (403), or does not know it, its
 * commit or the pipeline (404): for a merge request from a fork, the token of the Repository usually cannot
 * write to the fork, and PaC's pipeline id is the target project's.
 */
export function projectRefused(error: unknown): boolean {
  return error instanceof GitLabError && (error.status === 403 || error.status === 404);
}

/**
 * Runs `attempt` on the projects in order — the one that worked last first, then the merge request's
 * source project, then its target project, as PaC does (pkg/provider/gitlab/gitlab.go, CreateStatus) —
 * moving on when a project is refused, or when `nothingThere` says the answer found nothing (a fork the
 * token may read, whose commit has none of the statuses PaC wrote to the target project). The last
 * answer is returned, or the last refusal thrown.
 */
export async function onFirstProject<T>(
  projects: readonly string[],
  worked: string | undefined,
  attempt: (project: string) => Promise<T>,
  nothingThere: (result: T) => boolean = () => false,
): Promise<{ project: string; result: T }> {
  const order =
    worked && projects.includes(worked) ? [worked, ...projects.filter((p) => p !== worked)] : projects;
  let refusal: unknown = new Error("no GitLab project to report to");
  let empty: { project: string; result: T } | undefined;
  for (const project of order) {
    try {
      const result = await attempt(project);
      if (!nothingThere(result)) return { project, result };
      empty ??= { project, result };
    } catch (error) {
      if (!projectRefused(error)) throw error;
      refusal = error;
    }
  }
  if (empty) return empty;
  throw refusal;
}

/** Keeps GitLab's pipeline id on the runs of a lineage, so later statuses join the merge request's pipeline. */
export async function persistPipelineId(
  writer: Pick<RunWriter, "annotate">,
  runs: readonly PipelineRun[],
  id: number | undefined,
): Promise<void> {
  if (!id) return;
  for (const run of runs) {
    if (run.metadata.annotations?.[reconcilerKeys.gitlabPipelineId] === String(id)) continue;
    await writer.annotate(run, { [reconcilerKeys.gitlabPipelineId]: String(id) });
  }
}
