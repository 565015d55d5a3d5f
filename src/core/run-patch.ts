/**
 * JSON Patches for PipelineRuns, written out rather than diffed: each one tests only the fact its
 * decision rests on (spec.status), and sets annotations whatever another writer did to them meanwhile.
 * A diff would also test every annotation it replaces, so an unrelated write (a queue position, say)
 * would make a start fail for no reason.
 */
export type PatchOperation =
  | { op: "test"; path: string; value: string }
  | { op: "add"; path: string; value: string }
  | { op: "remove"; path: string };

const escaped = (key: string) => key.replaceAll("~", "~0").replaceAll("/", "~1");

/** The JSON Pointer of one annotation ("/" and "~" escaped as RFC 6901 says). */
export function annotationPath(key: string): string {
  return `/metadata/annotations/${escaped(key)}`;
}

/** The JSON Pointer of one label. */
export function labelPath(key: string): string {
  return `/metadata/labels/${escaped(key)}`;
}

export interface RunEdit {
  /** spec.status the run must still have (undefined: not tested; JSON Patch cannot test absence). */
  expectStatus?: string;
  /** New spec.status; null removes it. */
  status?: string | null;
  /** Annotations the run must still carry, with these values (tested before anything is written). */
  expectAnnotations?: Record<string, string>;
  /** Annotations to set; null removes one, whether or not it is there. */
  annotations?: Record<string, string | null>;
  /** Labels to set (only on runs that carry labels already: PaC's, whose labels these are). */
  labels?: Record<string, string>;
}

/**
 * The operations of one edit. The run must carry annotations already (every run tekton-lineage acts on
 * carries its claims), so "add" under /metadata/annotations always has a parent. Removing an annotation
 * that may be absent is "add" then "remove": the pair succeeds either way.
 */
export function runPatch(edit: RunEdit): PatchOperation[] {
  const ops: PatchOperation[] = [];
  if (edit.expectStatus !== undefined)
    ops.push({ op: "test", path: "/spec/status", value: edit.expectStatus });
  for (const [key, value] of Object.entries(edit.expectAnnotations ?? {}))
    ops.push({ op: "test", path: annotationPath(key), value });
  if (edit.status === null) {
    if (edit.expectStatus === undefined) ops.push({ op: "add", path: "/spec/status", value: "" });
    ops.push({ op: "remove", path: "/spec/status" });
  } else if (edit.status !== undefined) ops.push({ op: "add", path: "/spec/status", value: edit.status });
  for (const [key, value] of Object.entries(edit.annotations ?? {})) {
    const path = annotationPath(key);
    if (value === null) ops.push({ op: "add", path, value: "" }, { op: "remove", path });
    else ops.push({ op: "add", path, value });
  }
  for (const [key, value] of Object.entries(edit.labels ?? {}))
    ops.push({ op: "add", path: labelPath(key), value });
  return ops;
}
