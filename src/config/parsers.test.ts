import { describe, expect, it } from "vitest";
import {
  parseBoolean,
  parseBytes,
  parseDnsLabel,
  parseDuration,
  parseHostPort,
  parseList,
  parseOneOf,
  parsePositiveInteger,
  parseSecretRef,
  SettingError,
} from "./parsers.ts";

describe("parseHostPort", () => {
  it("reads IPv4, names, empty host and bracketed IPv6", () => {
    expect(parseHostPort("0.0.0.0:8443")).toEqual({ host: "0.0.0.0", port: 8443 });
    expect(parseHostPort("localhost:0")).toEqual({ host: "localhost", port: 0 });
    expect(parseHostPort(":9000")).toEqual({ host: "", port: 9000 });
    expect(parseHostPort("[::1]:8443")).toEqual({ host: "::1", port: 8443 });
  });
  it.each(["8443", "host:", "host:70000", "a b:1", "host:port"])("rejects %s", (raw) => {
    expect(() => parseHostPort(raw)).toThrow(SettingError);
  });
});

describe("parseDuration", () => {
  it("reads units and compound values", () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("3s")).toBe(3000);
    expect(parseDuration("1.5s")).toBe(1500);
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("2h")).toBe(7_200_000);
  });
  it.each(["", "3", "3 s", "s", "3d", "-1s", "3sx"])("rejects %j", (raw) => {
    expect(() => parseDuration(raw)).toThrow(/expected a duration/);
  });
});

describe("other parsers", () => {
  it("reads positive integers only", () => {
    expect(parsePositiveInteger("12")).toBe(12);
    for (const raw of ["0", "-1", "1.5", "x", ""])
      expect(() => parsePositiveInteger(raw)).toThrow(SettingError);
  });
  it("reads sizes with binary units", () => {
    expect(parseBytes("3Mi")).toBe(3 * 1024 * 1024);
    expect(parseBytes("512Ki")).toBe(524_288);
    expect(parseBytes("100")).toBe(100);
    expect(() => parseBytes("3MB")).toThrow(SettingError);
  });
  it("reads booleans, choices, lists and labels", () => {
    expect(parseBoolean("TRUE")).toBe(true);
    expect(parseBoolean("0")).toBe(false);
    expect(() => parseBoolean("maybe")).toThrow(SettingError);
    expect(parseOneOf(["a", "b"] as const)("b")).toBe("b");
    expect(() => parseOneOf(["a", "b"] as const)("c")).toThrow(/one of a, b/);
    expect(parseList(" a, ,b ")).toEqual(["a", "b"]);
    expect(parseDnsLabel("tekton-lineage")).toBe("tekton-lineage");
    expect(() => parseDnsLabel("Tekton")).toThrow(SettingError);
  });
});

describe("URL settings", () => {
  it("reads http(s) URLs and link templates, and refuses anything else", async () => {
    const { parseHttpUrl, parseLinkTemplate } = await import("./parsers.ts");
    expect(parseHttpUrl("https://gitlab.example/")).toBe("https://gitlab.example");
    expect(parseHttpUrl("")).toBe("");
    expect(() => parseHttpUrl("gitlab.example")).toThrow(/http\(s\) URL/);
    expect(parseLinkTemplate("https://c/ns/{{ namespace }}/pipelinerun/{{ pr }}")).toBe(
      "https://c/ns/{{ namespace }}/pipelinerun/{{ pr }}",
    );
    expect(() => parseLinkTemplate("ftp://c/{{ pr }}")).toThrow(/URL template/);
    expect(() => parseLinkTemplate("{{ namespace }}/x")).toThrow(/URL template/);
  });
});

describe("parseSecretRef", () => {
  it("reads namespace/name:key with PaC's default key", () => {
    expect(parseSecretRef("tekton-lineage/gitlab:token")).toEqual({
      namespace: "tekton-lineage",
      name: "gitlab",
      key: "token",
    });
    expect(parseSecretRef("ns/s")).toEqual({ namespace: "ns", name: "s", key: "provider.token" });
    expect(parseSecretRef("nope")).toBeUndefined();
  });
});
