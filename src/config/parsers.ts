/** Parsers for setting values. Each returns the parsed value or throws a SettingError naming what it expected. */

export class SettingError extends Error {}

export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(raw: string): HostPort {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(raw.trim());
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port > 65535) {
    throw new SettingError(`expected HOST:PORT (for example 0.0.0.0:8443 or [::1]:8443), got "${raw}"`);
  }
  return { host: match[1] ?? match[2] ?? "", port };
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "500ms", "3s", "2m", "1h", "1m30s" → milliseconds. */
export function parseDuration(raw: string): number {
  const text = raw.trim();
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) {
    throw new SettingError(`expected a duration such as 500ms, 3s, 2m or 1h30m, got "${raw}"`);
  }
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * (durationUnits[p[2] ?? ""] ?? 0), 0));
}

export function parsePositiveInteger(raw: string): number {
  const value = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < 1) {
    throw new SettingError(`expected a positive whole number, got "${raw}"`);
  }
  return value;
}

export function parseBytes(raw: string): number {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(raw.trim());
  if (!match) throw new SettingError(`expected a size such as 3Mi, 512Ki or 1048576, got "${raw}"`);
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[match[2] as "Ki" | "Mi" | "Gi"] ?? 1;
  return Number(match[1]) * unit;
}

export function parseOneOf<T extends string>(choices: readonly T[]) {
  return (raw: string): T => {
    const value = raw.trim() as T;
    if (!choices.includes(value)) {
      throw new SettingError(`expected one of ${choices.join(", ")}, got "${raw}"`);
    }
    return value;
  };
}

export function parseBoolean(raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (["true", "1", "yes"].includes(value)) return true;
  if (["false", "0", "no"].includes(value)) return false;
  throw new SettingError(`expected true or false, got "${raw}"`);
}

/** A comma-separated list; empty entries are dropped. */
export function parseList(raw: string): string[] {
  return raw
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function parseDnsLabel(raw: string): string {
  const value = raw.trim();
  if (value.length > 63 || !dns1123Label.test(value)) {
    throw new SettingError(`expected a DNS-1123 label (lower case letters, digits, '-'), got "${raw}"`);
  }
  return value;
}

/** An http(s) URL without a trailing slash, or "" for none. */
export function parseHttpUrl(raw: string): string {
  const value = raw.trim().replace(/\/+$/, "");
  if (value === "") return "";
  try {
    const url = new URL(value);
    if (url.protocol === "http:" || url.protocol === "https:") return value;
  } catch {
    /* reported below */
  }
  throw new SettingError(`expected an http(s) URL, got "${raw}"`);
}

/** A link template: once its placeholders are filled, an http(s) URL; "" for none. */
export function parseLinkTemplate(raw: string): string {
  const value = raw.trim();
  if (value === "") return "";
  const sample = value.replace(/\{\{\s*[\w-]+\s*\}\}|\{[\w-]+\}/g, "x");
  try {
    const url = new URL(sample);
    if (url.protocol === "http:" || url.protocol === "https:") return value;
  } catch {
    /* reported below */
  }
  throw new SettingError(
    `expected an http(s) URL template such as https://console.example/ns/{{ namespace }}/pipelinerun/{{ pr }}, got "${raw}"`,
  );
}

export function parseText(raw: string): string {
  return raw.trim();
}

/** A key of a Secret. */
export interface SecretRef {
  namespace: string;
  name: string;
  key: string;
}

/** Pipelines-as-Code's default key in a git provider Secret. */
export const defaultSecretKey = "provider.token";

/** Parses "namespace/name:key" (key optional, PaC's provider.token by default). */
export function parseSecretRef(raw: string): SecretRef | undefined {
  const match = /^([a-z0-9-]+)\/([a-z0-9.-]+)(?::([\w.-]+))?$/.exec(raw.trim());
  if (!match) return undefined;
  return { namespace: match[1] ?? "", name: match[2] ?? "", key: match[3] ?? defaultSecretKey };
}
