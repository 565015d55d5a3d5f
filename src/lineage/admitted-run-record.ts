import { acceptedPacValue } from "../core/pac-values.ts";
import type { RunMeta } from "../core/tekton.ts";
import { pac } from "../core/vocabulary.ts";
import type { AdmittedRunRecord } from "./attempt-plan.ts";

/** Most bytes one admitted run may take in its attempt counter (the counter keeps the last four). */
export const maxRecordBytes = 4096;

/** Dropped first when a record does not fit: what reporting a never-created run can do without. */
const leastNeeded = [
  pac.executionOrder,
  pac.logUrl,
  pac.urlOrg,
  pac.urlRepository,
  pac.sourceBranch,
  pac.repoUrl,
];

/**
 * The PaC keys of a run being admitted (annotation, else label), kept with its attempt number in a Lease
 * of tekton-lineage's namespace: only values PaC could have written, and at most maxRecordBytes of them,
 * whatever the run's author wrote.
 */
export function admittedRunRecordOf(subject: RunMeta, admittedAt: Date): AdmittedRunRecord {
  const annotations: Record<string, string> = {};
  for (const key of Object.values(pac)) {
    if (key === pac.prefix) continue;
    const written = subject.annotations[key] ?? subject.labels[key];
    const value = written === undefined ? undefined : acceptedPacValue(key, written);
    if (value !== undefined) annotations[key] = value;
  }
  const record = { namespace: subject.namespace, annotations, admittedAt: admittedAt.toISOString() };
  for (const key of leastNeeded) {
    if (JSON.stringify(record).length <= maxRecordBytes) break;
    delete annotations[key];
  }
  return record;
}
