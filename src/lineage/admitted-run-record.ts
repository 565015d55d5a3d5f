import type { RunMeta } from "../core/tekton.ts";
import { pac } from "../core/vocabulary.ts";
import type { AdmittedRunRecord } from "./attempt-plan.ts";

/** The PaC keys of a run being admitted (annotation, else label), kept with its attempt number. */
export function admittedRunRecordOf(subject: RunMeta, admittedAt: Date): AdmittedRunRecord {
  const annotations: Record<string, string> = {};
  for (const key of Object.values(pac)) {
    if (key === pac.prefix) continue;
    const value = subject.annotations[key] ?? subject.labels[key];
    if (value !== undefined) annotations[key] = value;
  }
  return { namespace: subject.namespace, annotations, admittedAt: admittedAt.toISOString() };
}
