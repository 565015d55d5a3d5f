import { pac } from "./vocabulary.ts";

/**
 * What a PaC key of a run may hold for tekton-lineage to keep it. Anyone who can create a run writes these
 * values, and tekton-lineage keeps them in its caches and in attempt counters of its own namespace: a
 * value that cannot be what PaC writes is not kept, so no run can make tekton-lineage's state grow.
 */
const rules: Readonly<Record<string, { max: number; pattern?: RegExp }>> = {
  [pac.sha]: { max: 64, pattern: /^[0-9a-f]{7,64}$/i },
  [pac.sourceProjectId]: { max: 20, pattern: /^\d{1,20}$/ },
  [pac.targetProjectId]: { max: 20, pattern: /^\d{1,20}$/ },
  [pac.pullRequest]: { max: 20, pattern: /^\d{1,20}$/ },
  [pac.gitlabPipelineId]: { max: 20, pattern: /^\d{1,20}$/ },
  [pac.repoUrl]: { max: 2048, pattern: /^https?:\/\// },
  [pac.logUrl]: { max: 2048, pattern: /^https?:\/\// },
  [pac.repository]: { max: 253 },
  [pac.originalPrName]: { max: 253 },
  [pac.gitAuthSecret]: { max: 253 },
  [pac.sourceBranch]: { max: 1024 },
  [pac.urlOrg]: { max: 1024 },
  [pac.urlRepository]: { max: 1024 },
  // PaC's list of the runs of one event (namespace/name, comma-separated); only its presence is read.
  [pac.executionOrder]: { max: 16 * 1024 },
};

/** Short words: states, event types, providers, booleans. */
const otherMax = 64;

/** Longest value kept of a tekton-lineage key: its own values are short; a longer one is not its own. */
export const maxOwnValueLength = 4096;

/** The value if PaC could have written it for this key; undefined when it is not to be kept. */
export function acceptedPacValue(key: string, value: string): string | undefined {
  const rule = rules[key] ?? { max: otherMax };
  if (value.length > rule.max) return undefined;
  if (rule.pattern && !rule.pattern.test(value)) return undefined;
  return value;
}
