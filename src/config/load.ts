import { parseArgs } from "node:util";
import { SettingError } from "./parsers.ts";
import { type Config, type Setting, type Settings, settings } from "./settings.ts";

/** A bad setting: the message names the flag, the environment variable and what was expected. */
export class ConfigError extends Error {
  readonly exitCode = 2;
}

export interface ParsedCommandLine {
  /** Words before or between flags: the role and, for `queue`, its sub-command. */
  command: string[];
  config: Config;
  help: boolean;
  /** Flags given on the command line: they win over the environment, and over a watched ConfigMap. */
  fromFlags: ReadonlySet<string>;
}

/** Reads flags, then the environment, then defaults; every value is validated, including defaults. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedCommandLine {
  const entries = Object.entries(settings) as [keyof Settings, Setting<unknown>][];
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: "boolean", short: "h" },
        ...Object.fromEntries(entries.map(([, s]) => [s.flag, { type: "string" as const }])),
      },
    });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\nRun "tekton-lineage --help" for the settings.`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const config: Record<string, unknown> = {};
  for (const [key, s] of entries) {
    const fromFlag = values[s.flag];
    const fromEnv = env[s.env];
    const raw = typeof fromFlag === "string" ? fromFlag : fromEnv !== undefined ? fromEnv : s.default;
    const source =
      typeof fromFlag === "string"
        ? `--${s.flag}`
        : fromEnv !== undefined
          ? `$${s.env}`
          : `default of --${s.flag}`;
    if (raw === undefined) {
      config[key] = undefined;
      continue;
    }
    try {
      config[key] = s.parse(raw);
    } catch (error) {
      if (error instanceof SettingError) throw new ConfigError(`invalid ${source}: ${error.message}`);
      throw error;
    }
  }
  const checked = config as Config;
  for (const problem of crossChecks(checked)) throw new ConfigError(problem);
  const fromFlags = new Set(
    entries.map(([, s]) => s.flag).filter((flag) => typeof values[flag] === "string"),
  );
  return { command: parsed.positionals, config: checked, help: values.help === true, fromFlags };
}

/** Settings that are valid alone but not together. */
export function crossChecks(config: Config): string[] {
  const problems: string[] = [];
  if (config.leaderRenewDeadline >= config.leaderLeaseDuration) {
    problems.push(
      `--leader-renew-deadline (${config.leaderRenewDeadline}ms) must be shorter than --leader-lease-duration (${config.leaderLeaseDuration}ms): a leader must give up before another may take over`,
    );
  }
  if (config.leaderRetryPeriod >= config.leaderRenewDeadline) {
    problems.push(
      `--leader-retry-period (${config.leaderRetryPeriod}ms) must be shorter than --leader-renew-deadline (${config.leaderRenewDeadline}ms): a leader must get to renew before its deadline`,
    );
  }
  return problems;
}
