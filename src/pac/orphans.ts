import { isDone, type PipelineRun } from "../core/tekton.ts";
import { admissionKeys, pac } from "../core/vocabulary.ts";
import { type PacConfig, pacDetailUrl } from "./config.ts";
import { answers, type CreationFailure } from "./creation-failures.ts";

/** What to do with a run PaC was told it could not create, and so never took over (--orphaned-runs). */
export type OrphanPolicy = "adopt" | "cancel";

/**
 * PaC made the run but never patched it: AddLabelsAndAnnotations puts the state *label* on every run at
 * creation; startPR patches the state *annotation* on only once the run was created and reported.
 */
export function pacNeverTookOver(run: PipelineRun): boolean {
  return (
    run.metadata.labels?.[pac.state] !== undefined && run.metadata.annotations?.[pac.state] === undefined
  );
}

export type OrphanDecision =
  | { kind: "none" }
  /** Not yet: PaC may still be setting it up, or its Event may not be here yet. */
  | { kind: "wait"; afterMs: number }
  | {
      kind: "adopt";
      failure: CreationFailure;
      annotations: Record<string, string>;
      labels: Record<string, string>;
    }
  | { kind: "cancel"; failure: CreationFailure; decision: string };

/**
 * A run PaC made but never took over: PaC patches its state annotation (and log-url) only after a create
 * that succeeded and whose in_progress status it could post (pipelineascode.go, startPR); its watcher
 * handles only runs with that annotation (controller.go, checkStateAndEnqueue), and only the watcher
 * makes the run's git-auth Secret. A create stored by the API server although PaC got an error back (an
 * answer lost on the way, a timeout) — or one whose status PaC could not post — is never finished by
 * PaC: no Secret, no status, no pruning. Recognised by PaC's own Event for that pipeline right after the
 * run's admission, once `graceMs` has passed without PaC's state annotation.
 *
 * `adopt` writes what startPR would have (state, log-url; scm-reporting-plr-started left out, so the
 * watcher reports the run when it runs), and PaC's watcher takes the run over; `cancel` stops it.
 */
export function orphanDecision(
  run: PipelineRun,
  failures: readonly CreationFailure[],
  policy: OrphanPolicy,
  pacConfig: PacConfig,
  now: number,
  graceMs: number,
): OrphanDecision {
  const a = run.metadata.annotations ?? {};
  if (!pacNeverTookOver(run) || a[pac.logUrl] !== undefined) return { kind: "none" };
  if (run.spec?.status?.startsWith("Cancelled") || (policy === "cancel" && isDone(run)))
    return { kind: "none" };
  const admittedAt = Date.parse(a[admissionKeys.admittedAt] ?? "");
  if (!Number.isFinite(admittedAt)) return { kind: "none" };
  const age = now - admittedAt;
  if (age < graceMs) return { kind: "wait", afterMs: graceMs - age };
  const failure = failures.filter((f) => answers(f, admittedAt)).sort((x, y) => y.at - x.at)[0];
  if (!failure) return { kind: "none" };
  if (policy === "cancel") {
    return {
      kind: "cancel",
      failure,
      decision: `cancelled: Pipelines-as-Code was told its create failed (${failure.error}) and never took this run over`,
    };
  }
  const state = run.spec?.status === "PipelineRunPending" ? "queued" : "started";
  const link = pacDetailUrl(pacConfig, run.metadata.namespace ?? "", run.metadata.name ?? "");
  return {
    kind: "adopt",
    failure,
    annotations: { [pac.state]: state, ...(link ? { [pac.logUrl]: link } : {}) },
    labels: { [pac.state]: state },
  };
}

/**
 * The git-auth Secret an adopted run would need to exist already, if any: the one its clone reads
 * (git-auth-secret), unless PaC's watcher makes it (v0.45 and later write secret-created "false" and the
 * watcher creates the Secret for the run it takes over). Before v0.45 startPR made the Secret before its
 * create and deleted it when the create answered an error — so the run a lost answer stored names a
 * Secret that is gone, and adopting it would only let it fail to clone. A run that already ended needs
 * nothing.
 */
export function secretAdoptionNeeds(run: PipelineRun): string | undefined {
  // A run that already ended cloned (or failed to) long ago: handed over, PaC just reports it.
  if (isDone(run)) return undefined;
  const a = run.metadata.annotations ?? {};
  const name = a[pac.gitAuthSecret];
  return name && a[pac.secretCreated] !== "false" ? name : undefined;
}

/**
 * An adoption turned into a cancel when the run could not run: its git-auth Secret is gone (`exists`
 * false) or could not be looked at (undefined: no right to read Secrets there; the safe answer).
 */
export function unlessItCannotClone(
  decision: Extract<OrphanDecision, { kind: "adopt" }>,
  secret: string,
  exists: boolean | undefined,
): Extract<OrphanDecision, { kind: "adopt" | "cancel" }> {
  if (exists === true) return decision;
  // The reason first: descriptions are cut at 255 characters, and the API server's words are long.
  const why =
    exists === false
      ? `could not clone (its git-auth Secret ${secret} was deleted when PaC's create failed, as PaC before v0.45 does)`
      : `may not clone (its git-auth Secret ${secret} could not be looked at)`;
  return {
    kind: "cancel",
    failure: decision.failure,
    decision: `cancelled: ${why}; Pipelines-as-Code was told its create failed (${decision.failure.error}) and never took this run over`,
  };
}
