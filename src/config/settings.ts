import { parseOneOf } from "./parsers.ts";
import { setting } from "./setting.ts";
import { admissionSettings } from "./settings-admission.ts";
import { gitlabSettings } from "./settings-gitlab.ts";
import { queueSettings } from "./settings-queue.ts";
import { serverSettings } from "./settings-server.ts";

export type { Setting } from "./setting.ts";

/** Every setting of tekton-lineage, in the order --help, the ConfigMap and docs/settings.md show them. */
export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace"] as const;

export const settings = {
  ...serverSettings,
  ...admissionSettings,
  ...queueSettings,
  ...gitlabSettings,
  logLevel: setting({
    flag: "log-level",
    env: "TEKTON_LINEAGE_LOG_LEVEL",
    default: "info",
    description: `Log level: ${logLevels.join(", ")}.`,
    parse: parseOneOf(logLevels),
    live: true,
  }),
};

export type Settings = typeof settings;
export type Config = {
  [K in keyof Settings]: Settings[K] extends { default: string }
    ? ReturnType<Settings[K]["parse"]>
    : ReturnType<Settings[K]["parse"]> | undefined;
};
