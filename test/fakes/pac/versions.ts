/**
 * How Pipelines-as-Code versions differ in what the emulator plays, each read in PaC's history
 * (tektoncd/pipelines-as-code; tags v0.37.0 … v0.50.0) and, for v0.37.0 and v0.50.0, checked against the
 * real binaries in the test bed (test/e2e/testbed). Any `v0.NN` from v0.37 on is accepted; the emulator
 * follows the rows below for it.
 */
export type PacVersion = `v0.${number}`;

export interface PacBehaviour {
  /**
   * The GitLab provider's CreateStatus posts to the target project when the source project refuses
   * (49df439b4, v0.38.0). Before: the source project only, and a failure is an Event
   * "FailedToSetCommitStatus" ("cannot set status with the GitLab token because of: …").
   */
  targetProjectFallback: boolean;
  /**
   * A merge-request note for every status on a merge-request event (default comment strategy), whatever
   * GitLab answered — before 49df439b4 (v0.38.0). From v0.38 a note only when both projects refused.
   */
  noteForEveryStatus: boolean;
  /** Conclusion "cancelled" maps to GitLab's `canceled` (8c707c3e2, v0.39.0); before, sent as is: GitLab 400. */
  cancelledMapped: boolean;
  /** The status of a create that failed names its pipeline (2dd2629b1, v0.39.0); before, the bare application name. */
  failureNamesPipeline: boolean;
  /** "Cannot transition status" makes no note (6a956e4f7, v0.41.0). */
  ignoresCannotTransition: boolean;
  /** The watcher, not startPR, makes the git-auth Secret (annotation secret-created: "false"; v0.45.0). */
  watcherMakesGitAuthSecret: boolean;
  /** pipeline_id is sent, and kept on the run as gitlab-pipeline-id (b0bcbacb7, v0.46.0). */
  pipelineId: boolean;
}

export function minorOf(version: PacVersion): number {
  return Number(version.split(".")[1]);
}

export function behaviourOf(version: PacVersion): PacBehaviour {
  const minor = minorOf(version);
  return {
    targetProjectFallback: minor >= 38,
    noteForEveryStatus: minor < 38,
    cancelledMapped: minor >= 39,
    failureNamesPipeline: minor >= 39,
    ignoresCannotTransition: minor >= 41,
    watcherMakesGitAuthSecret: minor >= 45,
    pipelineId: minor >= 46,
  };
}
