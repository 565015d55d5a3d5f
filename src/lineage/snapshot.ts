import { pac } from "../core/vocabulary.ts";
import type { RunSnapshot } from "./attempt-plan.ts";
import type { LineageSubject } from "./lineage.ts";

/** The PaC keys of a run being admitted (annotation, else label), kept with its attempt number. */
export function snapshotOf(subject: LineageSubject): RunSnapshot {
  const annotations: Record<string, string> = {};
  for (const key of Object.values(pac)) {
    if (key === pac.prefix) continue;
    const value = subject.annotations[key] ?? subject.labels[key];
    if (value !== undefined) annotations[key] = value;
  }
  return { namespace: subject.namespace, annotations };
}
