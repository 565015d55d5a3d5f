import { pino } from "pino";

export type Logger = pino.Logger;

/** Keys whose values never reach a log line, wherever they appear in a logged object. */
export const redactedPaths = [
  "token",
  "*.token",
  "*.*.token",
  "privateToken",
  "*.privateToken",
  "headers.authorization",
  "*.headers.authorization",
  'headers["private-token"]',
  '*.headers["private-token"]',
];

/** One JSON line per event on stdout (or the given destination), with the instance on every line. */
export function createLogger(options: {
  level: string;
  instance: string;
  destination?: pino.DestinationStream;
}): Logger {
  return pino(
    {
      level: options.level,
      base: { instance: options.instance },
      redact: { paths: redactedPaths, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that discards everything, for tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
