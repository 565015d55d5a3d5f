import { describe, expect, it } from "vitest";
import { pac } from "../core/vocabulary.ts";
import { admittedRunRecordOf, maxRecordBytes } from "./admitted-run-record.ts";

const at = new Date("2026-12-05T10:00:00Z");
const subject = (annotations: Record<string, string>) => ({
  namespace: "team-a",
  name: "",
  generateName: "build-",
  labels: {},
  annotations,
});

describe("admittedRunRecordOf", () => {
  it("keeps what PaC writes", () => {
    const record = admittedRunRecordOf(
      subject({
        [pac.sha]: "4d6f1f0c2b1e",
        [pac.repository]: "demo-repo",
        [pac.sourceProjectId]: "1001",
        [pac.logUrl]: "https://console.example/x",
        other: "not a PaC key",
      }),
      at,
    );
    expect(record).toEqual({
      namespace: "team-a",
      admittedAt: at.toISOString(),
      annotations: {
        [pac.sha]: "4d6f1f0c2b1e",
        [pac.repository]: "demo-repo",
        [pac.sourceProjectId]: "1001",
        [pac.logUrl]: "https://console.example/x",
      },
    });
  });

  it("keeps no value PaC could not have written, and stays within its bytes whatever the run says", () => {
    const huge = "x".repeat(200 * 1024);
    const record = admittedRunRecordOf(
      subject({
        [pac.sha]: huge,
        [pac.sourceProjectId]: "../1",
        [pac.repoUrl]: `https://gitlab.example/${"a".repeat(2000)}`,
        [pac.logUrl]: `https://console.example/${"b".repeat(2000)}`,
        [pac.sourceBranch]: "c".repeat(1000),
        [pac.urlOrg]: "d".repeat(1000),
        [pac.urlRepository]: "e".repeat(1000),
        [pac.executionOrder]: "f".repeat(16_000),
        [pac.repository]: "demo-repo",
      }),
      at,
    );
    expect(record.annotations[pac.sha]).toBeUndefined();
    expect(record.annotations[pac.sourceProjectId]).toBeUndefined();
    expect(record.annotations[pac.repository]).toBe("demo-repo");
    expect(JSON.stringify(record).length).toBeLessThanOrEqual(maxRecordBytes);
  });
});
