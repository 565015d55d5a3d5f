import { SettingError } from "./parsers.ts";

/** A queue defined in tekton-lineage's own configuration, for runs Pipelines-as-Code does not queue. */
export interface QueueRule {
  name: string;
  /** Labels a PipelineRun must carry (all of them, with these values). */
  selector: Record<string, string>;
  /** Queue key template: {namespace}, {pipeline}, {label:<key>}, {annotation:<key>}. */
  key: string;
  limit: number;
  /** Longest wait before a run is cancelled, in ms; 0 for none. */
  maxWaitMs?: number;
}

const placeholder = /\{(namespace|pipeline|label:[^}]+|annotation:[^}]+)\}/g;

/**
 * `--queue-rules`: a JSON array such as
 *   [{"name":"deploys","selector":{"tekton.dev/pipeline":"deploy"},"key":"{namespace}/deploy","limit":1}]
 */
export function parseQueueRules(raw: string): QueueRule[] {
  const text = raw.trim();
  if (text === "") return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SettingError(`expected a JSON array of queue rules: ${(error as Error).message}`);
  }
  if (!Array.isArray(value)) throw new SettingError("expected a JSON array of queue rules");
  return value.map((item, index) => {
    const rule = item as Partial<QueueRule> & { maxWait?: unknown };
    const where = `queue rule ${index + 1}`;
    if (typeof rule.name !== "string" || rule.name === "") throw new SettingError(`${where} needs a "name"`);
    if (typeof rule.key !== "string" || rule.key === "")
      throw new SettingError(`${where} needs a "key" template`);
    const unknown = rule.key.replace(placeholder, "").match(/\{[^}]*\}/);
    if (unknown) throw new SettingError(`${where}: unknown placeholder ${unknown[0]} in key`);
    if (!Number.isSafeInteger(rule.limit) || (rule.limit ?? 0) < 1) {
      throw new SettingError(`${where} needs a "limit" of at least 1`);
    }
    const selector = rule.selector ?? {};
    if (typeof selector !== "object" || Object.values(selector).some((v) => typeof v !== "string")) {
      throw new SettingError(`${where}: "selector" must map label keys to values`);
    }
    const maxWaitMs = typeof rule.maxWaitMs === "number" ? rule.maxWaitMs : 0;
    return { name: rule.name, selector, key: rule.key, limit: rule.limit ?? 1, maxWaitMs };
  });
}

export function renderKey(
  template: string,
  subject: { namespace: string; labels: Record<string, string>; annotations: Record<string, string> },
  pipeline: string,
): string {
  return template.replace(placeholder, (_match, name: string) => {
    if (name === "namespace") return subject.namespace;
    if (name === "pipeline") return pipeline;
    if (name.startsWith("label:")) return subject.labels[name.slice(6)] ?? "";
    return subject.annotations[name.slice(11)] ?? "";
  });
}
