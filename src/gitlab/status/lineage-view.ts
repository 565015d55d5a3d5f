import type { PipelineRun } from "../../core/tekton.ts";
import { admissionKeys, leaseKeys, leaseLabels, pac } from "../../core/vocabulary.ts";
import type { ObjectCache } from "../../kube/informer.ts";
import type { CachedLease } from "../../kube/leases.ts";
import type { CounterRecord } from "../../lineage/attempt-plan.ts";
import { attemptLeaseName, readRecord } from "../../lineage/attempts.ts";
import { lineageIndex, lineageIndexValue, splitLineageKey } from "../../lineage/genuine-runs.ts";
import { attemptOf } from "../../lineage/supersede.ts";
import { answers, type CreationFailure, type CreationFailures } from "../../pac/creation-failures.ts";
import { type LineageAttempts, lineageAttempts, newestAdmitted } from "./latest.ts";
import { statusOwner } from "./status-owner.ts";

/** Everything known of one lineage, from the caches: its runs, its counter, what PaC recorded. */
export interface LineageView {
  key: string;
  namespace: string;
  lineageId: string;
  runs: PipelineRun[];
  attempts: LineageAttempts;
  /** The commit the lineage runs for, as namespace/repository/sha ("" when its runs name none). */
  commit: string;
  /** The lineage's pipeline (PaC's original-prname), if any. */
  pipeline?: string;
  /**
   * PaC's failures to create this pipeline of this repository that answer no admission tekton-lineage
   * knows of, in the hour before the lineage's first known admission: creates PaC made while
   * tekton-lineage was down or not asked. They name no commit; only a status of the commit made at the
   * same time ties one to it.
   */
  unadmitted: CreationFailure[];
  /**
   * Runs of the lineage that exist although PaC recorded that their create (or its report) failed right
   * after their admission: PaC reported a failure for a run that is there.
   */
  createdDespite: { attempt: number; error: string; at: number }[];
  /** The quiet mark kept on the lineage's attempt counter (quiet-marks.ts), if any. */
  quietMark?: string;
}

export type Failures = Pick<CreationFailures, "find" | "of">;

const commitIndex = "namespace/repository/sha";
const repositoryIndex = "namespace/repository";
/** How far back an unadmitted failure is looked for (PaC's Events live an hour by default). */
const unadmittedWindowMs = 3_600_000;

/** The commit key of a run's PaC annotations (namespace/repository/sha), or undefined. */
export function commitOf(namespace: string | undefined, annotations: Record<string, string> | undefined) {
  const repository = annotations?.[pac.repository];
  const sha = annotations?.[pac.sha];
  return namespace && repository && sha ? `${namespace}/${repository}/${sha}` : undefined;
}

/**
 * Reads lineages out of the caches, and keeps the indexes that find them: by lineage, by commit, and by
 * repository (for PaC's failures, which name a repository only).
 */
export class LineageViews {
  private readonly runs: ObjectCache<PipelineRun>;
  private readonly counters: ObjectCache<CachedLease>;
  private readonly countersNamespace: string;
  private readonly failures: Failures;

  constructor(options: {
    runs: ObjectCache<PipelineRun>;
    counters: ObjectCache<CachedLease>;
    countersNamespace: string;
    failures: Failures;
  }) {
    this.runs = options.runs;
    this.counters = options.counters;
    this.countersNamespace = options.countersNamespace;
    this.failures = options.failures;
    this.runs.addIndex(lineageIndex, lineageIndexValue);
    this.runs.addIndex(commitIndex, (run) => commitOf(run.metadata.namespace, run.metadata.annotations));
    this.counters.addIndex(commitIndex, (lease) => {
      const subject = readRecord(lease).lastSubject;
      return commitOf(subject?.namespace, subject?.annotations);
    });
    this.counters.addIndex(repositoryIndex, (lease) => {
      const subject = readRecord(lease).lastSubject;
      const repository = subject?.annotations[pac.repository];
      return subject && repository ? `${subject.namespace}/${repository}` : undefined;
    });
  }

  /** Every lineage key in the run cache. */
  keys(): string[] {
    return this.runs.indexValues(lineageIndex);
  }

  /** The lineage key a counter Lease counts for, if it is one. */
  keyOfCounter(lease: CachedLease): string | undefined {
    const id = lease.metadata.labels?.[leaseLabels.lineageId];
    const namespace = lease.metadata.labels?.[leaseLabels.runNamespace];
    return id && namespace ? `${namespace}/${id}` : undefined;
  }

  /** The lineages whose last admission was for this repository. */
  keysOfRepository(namespace: string, repository: string): string[] {
    return this.counters
      .byIndex(repositoryIndex, `${namespace}/${repository}`)
      .flatMap((lease) => this.keyOfCounter(lease) ?? []);
  }

  /** The runs of one commit (namespace/repository/sha), of every lineage. */
  runsOfCommit(commit: string): PipelineRun[] {
    return this.runs.byIndex(commitIndex, commit);
  }

  /** The lineages of one commit (namespace/repository/sha): by their runs, and by their counters. */
  keysOfCommit(commit: string): string[] {
    const fromRuns = this.runs.byIndex(commitIndex, commit).flatMap((run) => lineageIndexValue(run) ?? []);
    const fromCounters = this.counters
      .byIndex(commitIndex, commit)
      .flatMap((lease) => this.keyOfCounter(lease) ?? []);
    return [...new Set([...fromRuns, ...fromCounters])].sort();
  }

  /** The lineage that owns the status this one shares with others of its pipeline and commit. */
  statusOwnerOf(view: LineageView): string {
    if (!view.commit || !view.pipeline) return view.key;
    const rivals = this.keysOfCommit(view.commit)
      .filter((k) => k !== view.key)
      .map((k) => this.read(k))
      .filter((rival) => rival.pipeline === view.pipeline);
    return statusOwner(view, rivals);
  }

  /** One lineage, keyed namespace/lineage id: a lineage never spans namespaces. */
  read(key: string): LineageView {
    const { namespace, lineageId } = splitLineageKey(key);
    const runs = this.runs.byIndex(lineageIndex, key);
    const counter = this.counters.get(this.countersNamespace, attemptLeaseName(lineageId));
    const counted = counter?.metadata.labels?.[leaseLabels.runNamespace] === namespace;
    const record = counter && counted ? readRecord(counter) : undefined;
    const attempts = lineageAttempts(runs, record, (r, at, name) => this.corroborate(r, at, name));
    const from = newestAdmitted(attempts)?.reportFrom;
    const annotations = from?.metadata.annotations;
    const pipeline = annotations?.[pac.originalPrName];
    const commit = commitOf(namespace, annotations) ?? "";
    return {
      key,
      namespace,
      lineageId,
      runs,
      attempts,
      commit,
      pipeline,
      unadmitted: this.unadmitted(namespace, annotations?.[pac.repository], pipeline, runs, record),
      createdDespite: this.createdDespite(namespace, annotations?.[pac.repository], pipeline, runs, record),
      quietMark: counted ? counter?.metadata.annotations?.[leaseKeys.gitlabQuiet] : undefined,
    };
  }

  /** PaC's record that the lineage's pipeline could not be created right after an admission at `admittedAt`. */
  private corroborate(
    record: CounterRecord,
    admittedAt: number,
    name: string,
  ): { error: string; at: number } | undefined {
    const subject = record.lastSubject;
    const repository = subject?.annotations[pac.repository];
    const pipeline = subject?.annotations[pac.originalPrName];
    if (!subject || !repository || !pipeline) return undefined;
    return this.failures.find({ namespace: subject.namespace, repository, pipeline, admittedAt, name });
  }

  private createdDespite(
    namespace: string,
    repository: string | undefined,
    pipeline: string | undefined,
    runs: readonly PipelineRun[],
    record: CounterRecord | undefined,
  ): LineageView["createdDespite"] {
    if (!repository || !pipeline) return [];
    const failures = this.failures.of({ namespace, repository, pipeline });
    if (failures.length === 0) return [];
    // A failure that names another attempt of the lineage (an "already exists" of an earlier attempt, say)
    // is that attempt's, however close in time: PaC's Events carry whole seconds.
    const names = [
      ...runs.map((r) => r.metadata.name ?? ""),
      record?.lastName ?? "",
      ...(record?.earlier ?? []).map((e) => e.name),
    ];
    return runs.flatMap((run) => {
      const admittedAt = Date.parse(run.metadata.annotations?.[admissionKeys.admittedAt] ?? "");
      const others = names.filter((n) => n && n !== run.metadata.name);
      const failure = failures.find(
        (f) => answers(f, admittedAt) && !others.some((name) => f.error.includes(`"${name}"`)),
      );
      return failure ? [{ attempt: attemptOf(run), error: failure.error, at: failure.at }] : [];
    });
  }

  private unadmitted(
    namespace: string,
    repository: string | undefined,
    pipeline: string | undefined,
    runs: readonly PipelineRun[],
    record: CounterRecord | undefined,
  ): CreationFailure[] {
    if (!repository || !pipeline) return [];
    const admissions = [
      ...runs.map((r) => r.metadata.annotations?.[admissionKeys.admittedAt]),
      record?.lastSubject?.admittedAt,
      ...(record?.earlier ?? []).map((e) => e.admittedAt),
    ]
      .map((at) => Date.parse(at ?? ""))
      .filter(Number.isFinite);
    if (admissions.length === 0) return [];
    const first = Math.min(...admissions);
    return this.failures
      .of({ namespace, repository, pipeline })
      .filter(
        (f) =>
          f.at < first &&
          f.at >= first - unadmittedWindowMs &&
          !admissions.some((admittedAt) => answers(f, admittedAt)),
      );
  }
}
