import { createHash } from "node:crypto";
import { notInConfigMap } from "./configmap.ts";
import type { Setting } from "./setting.ts";
import { type Config, settings } from "./settings.ts";

/** What a change of the watched ConfigMap means for a running process. */
export interface SettingsChange {
  /** Live settings whose value changed, parsed: to apply now. */
  live: Partial<Config>;
  /** Live settings whose new value does not parse: kept as they are, said why. */
  refused: string[];
  /** Flags of settings that need a restart and differ from what this process started with. */
  needRestart: string[];
  /** A checksum of every setting that needs a restart, as the ConfigMap holds them. */
  checksum: string;
}

/** The settings a ConfigMap holds (not those the Deployment sets per pod, nor the command line's). */
const entries = (Object.entries(settings) as [keyof Config, Setting<unknown>][]).filter(
  ([, s]) => !notInConfigMap.has(s.flag),
);

/**
 * Compares the ConfigMap's data (keys: the settings' environment names) with what the process runs
 * with: `current` (its settings now, live ones included) and `startEnv` (the environment it started
 * with, which envFrom filled from the same ConfigMap). Settings given as flags (`fromFlags`) are not
 * the ConfigMap's to change.
 */
export function settingsChange(
  data: Readonly<Record<string, string>>,
  current: Config,
  startEnv: Readonly<Record<string, string | undefined>>,
  fromFlags: ReadonlySet<string> = new Set(),
): SettingsChange {
  const live: Record<string, unknown> = {};
  const refused: string[] = [];
  const needRestart: string[] = [];
  const hash = createHash("sha256");
  for (const [key, s] of entries) {
    // A flag wins over the environment, hence over the ConfigMap that fills it: such a setting stays.
    if (fromFlags.has(s.flag)) continue;
    const raw = data[s.env];
    if (s.live) {
      if (raw === undefined) continue;
      try {
        const value = s.parse(raw);
        if (JSON.stringify(value) !== JSON.stringify(current[key])) live[key] = value;
      } catch (error) {
        refused.push(`--${s.flag}: ${(error as Error).message}`);
      }
      continue;
    }
    hash.update(`${s.env}=${raw ?? ""}\n`);
    if ((raw ?? "") !== (startEnv[s.env] ?? "")) needRestart.push(s.flag);
  }
  return { live: live as Partial<Config>, refused, needRestart, checksum: hash.digest("hex").slice(0, 16) };
}

/**
 * The process's settings as they are now: the ones it started with, live ones replaced as the watched
 * ConfigMap changes. Readers that must follow a live setting read current() when they act.
 */
export class LiveSettings {
  private value: Config;
  private readonly listeners: ((changed: Partial<Config>) => void)[] = [];

  constructor(config: Config) {
    this.value = { ...config };
  }

  current(): Config {
    return this.value;
  }

  apply(changed: Partial<Config>): void {
    if (Object.keys(changed).length === 0) return;
    this.value = { ...this.value, ...changed };
    for (const listener of this.listeners) listener(changed);
  }

  onChange(listener: (changed: Partial<Config>) => void): void {
    this.listeners.push(listener);
  }
}
