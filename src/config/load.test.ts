import { describe, expect, it } from "vitest";
import { helpText } from "./help.ts";
import { ConfigError, loadConfig } from "./load.ts";
import { settings } from "./settings.ts";

describe("loadConfig", () => {
  it("applies readable defaults", () => {
    const { command, config, help } = loadConfig(["webhook"], {});
    expect(command).toEqual(["webhook"]);
    expect(help).toBe(false);
    expect(config.listen).toEqual({ host: "0.0.0.0", port: 8443 });
    expect(config.admissionDeadline).toBe(3000);
    expect(config.maxBodyBytes).toBe(3 * 1024 * 1024);
    expect(config.kubeconfig).toBeUndefined();
    expect(config.watchNamespaces).toEqual([]);
  });

  it("takes the environment over defaults and flags over the environment", () => {
    const env = { TEKTON_LINEAGE_LISTEN: "127.0.0.1:9000", TEKTON_LINEAGE_LOG_LEVEL: "debug" };
    expect(loadConfig(["all"], env).config.listen).toEqual({ host: "127.0.0.1", port: 9000 });
    const { config } = loadConfig(["all", "--listen", "127.0.0.1:9443", "--log-level=warn"], env);
    expect(config.listen.port).toBe(9443);
    expect(config.logLevel).toBe("warn");
  });

  it("names the flag and what it expected for a bad flag", () => {
    expect(() => loadConfig(["--listen", "nope"], {})).toThrow(ConfigError);
    expect(() => loadConfig(["--listen", "nope"], {})).toThrow(/invalid --listen: expected HOST:PORT/);
  });

  it("names the environment variable for a bad environment value", () => {
    expect(() => loadConfig([], { TEKTON_LINEAGE_ADMISSION_DEADLINE: "soon" })).toThrow(
      /invalid \$TEKTON_LINEAGE_ADMISSION_DEADLINE: expected a duration/,
    );
  });

  it("rejects unknown flags with a pointer to --help", () => {
    expect(() => loadConfig(["--lisen", "x"], {})).toThrow(/--help/);
  });

  it("carries exit code 2", () => {
    try {
      loadConfig(["--max-body", "lots"], {});
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).exitCode).toBe(2);
    }
  });

  it("recognises --help", () => {
    expect(loadConfig(["--help"], {}).help).toBe(true);
  });
});

describe("helpText", () => {
  it("explains every setting with its environment variable and default", () => {
    const text = helpText();
    for (const s of Object.values(settings)) {
      expect(text).toContain(`--${s.flag} (${s.env})`);
      expect(text).toContain(s.description);
    }
    expect(text).toContain("default: 0.0.0.0:8443");
  });
});

describe("settings checked together", () => {
  it.each([
    [
      ["--leader-renew-deadline=15s", "--leader-lease-duration=15s"],
      /must be shorter than --leader-lease-duration/,
    ],
    [
      ["--leader-retry-period=10s", "--leader-renew-deadline=10s"],
      /must be shorter than --leader-renew-deadline/,
    ],
  ])("refuses %j with exit code 2", (argv, message) => {
    expect(() => loadConfig(["all", ...argv], {})).toThrow(message);
    try {
      loadConfig(["all", ...argv], {});
    } catch (error) {
      expect((error as ConfigError).exitCode).toBe(2);
    }
  });
});
