import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lineageIdOf } from "./lineage.ts";
import { attemptName, maxNameLength, parseAttemptName, sanitizeBase } from "./names.ts";

/** The API server's rule for a DNS-1123 label (the oracle the names are checked against). */
const isDns1123Label = (value: string) =>
  value.length <= maxNameLength && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value);

const lineageIds = fc.string({ minLength: 1, maxLength: 200 }).map(lineageIdOf);
const attempts = fc.integer({ min: 1, max: 2 ** 40 });
const bases = fc.oneof(
  fc.string({ maxLength: 120 }),
  fc.string({ unit: "grapheme", maxLength: 80 }),
  fc.constantFrom(
    "build",
    "Build_And_Test",
    "-",
    "",
    "a".repeat(80),
    "x-".repeat(40),
    "ÅÄÖ-ünïcode",
    "9lives",
  ),
);

describe("attemptName (properties)", () => {
  it("is always a DNS-1123 label of at most 63 characters", () => {
    fc.assert(
      fc.property(bases, lineageIds, attempts, (base, id, attempt) => {
        const name = attemptName(base, id, attempt);
        expect(name.length).toBeLessThanOrEqual(63);
        expect(isDns1123Label(name)).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it("is stable: the same inputs give the same name", () => {
    fc.assert(
      fc.property(bases, lineageIds, attempts, (base, id, attempt) => {
        expect(attemptName(base, id, attempt)).toBe(attemptName(`${base}`, id.slice(), attempt));
      }),
      { numRuns: 5_000 },
    );
  });

  it("can be read back, so different (lineage, attempt) pairs never share a name", () => {
    fc.assert(
      fc.property(bases, lineageIds, attempts, (base, id, attempt) => {
        expect(parseAttemptName(attemptName(base, id, attempt))).toEqual({ lineageId: id, attempt });
      }),
      { numRuns: 20_000 },
    );
  });

  it("has no collision over a large random sample, even with bases chosen to collide", () => {
    const seen = new Map<string, string>();
    const sample = fc.sample(
      fc.tuple(fc.constantFrom("build", "build-", "Build", "a".repeat(70), ""), lineageIds, attempts),
      {
        numRuns: 200_000,
        seed: 42,
      },
    );
    let pairs = 0;
    for (const [base, id, attempt] of sample) {
      const pair = `${id}/${attempt}`;
      const name = attemptName(base, id, attempt);
      const previous = seen.get(name);
      if (previous === undefined) {
        seen.set(name, pair);
        pairs += 1;
      } else expect(previous).toBe(pair);
    }
    expect(pairs).toBeGreaterThan(150_000);
  });
});

describe("attemptName (examples)", () => {
  const id = lineageIdOf("pac/team-a/my-repo/pull_request/42/abc/build");

  it("reads as base, lineage id, attempt", () => {
    expect(attemptName("build", id, 3)).toBe(`build-${id}-3`);
  });

  it("cuts a long base from the end and never leaves a dash before the suffix", () => {
    const name = attemptName(`${"very-long-pipeline-name-".repeat(5)}`, id, 12345);
    expect(name).toHaveLength(63);
    expect(name.endsWith(`-${id}-12345`)).toBe(true);
    expect(name).not.toContain("--");
  });

  it("turns an unusable base into 'run'", () => {
    expect(attemptName("---", id, 1)).toBe(`run-${id}-1`);
    expect(sanitizeBase("Build_And.Test")).toBe("build-and-test");
  });

  it("refuses an id or attempt it was not made for", () => {
    expect(() => attemptName("b", "short", 1)).toThrow(/10 base32/);
    expect(() => attemptName("b", id, 0)).toThrow(/positive/);
    expect(() => attemptName("b", id, 1.5)).toThrow(/positive/);
  });
});
