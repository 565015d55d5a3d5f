/**
 * The status GitLab shows for a pipeline, computed from the statuses of its latest jobs (the ones not
 * retried), as lib/gitlab/ci/status/composite.rb, Composite#status, does. The order of the checks is
 * GitLab's: a pipeline with a running job and a failed one is `running` until the running one ends.
 * External commit statuses never allow failure, so GitLab's `ignored` and `success_with_warnings` do not
 * arise here.
 */
export type CompositeStatus =
  | "created"
  | "pending"
  | "running"
  | "success"
  | "failed"
  | "canceled"
  | "skipped";

export function compositeStatus(statuses: readonly string[]): CompositeStatus | undefined {
  if (statuses.length === 0) return undefined;
  const set = new Set(statuses);
  const onlyOf = (...names: string[]) => [...set].every((s) => names.includes(s));
  const anyOf = (...names: string[]) => names.some((n) => set.has(n));
  if (onlyOf("skipped")) return "skipped";
  if (onlyOf("success", "skipped")) return "success";
  if (onlyOf("created")) return "created";
  if (onlyOf("canceled", "success", "skipped")) return "canceled";
  if (onlyOf("pending", "created", "skipped")) return "pending";
  if (anyOf("running", "pending")) return "running";
  if (anyOf("created")) return "running";
  return "failed";
}
