import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cutText, fillTemplate, fitLink } from "./text.ts";

describe("cutText", () => {
  it("leaves short text alone and cuts long text to 255 code points with an ellipsis", () => {
    expect(cutText("attempt 2 running")).toBe("attempt 2 running");
    const cut = cutText("a".repeat(300));
    expect([...cut]).toHaveLength(255);
    expect(cut.endsWith("…")).toBe(true);
  });

  it("never splits a character or a grapheme cluster", () => {
    const family = "👨‍👩‍👧‍👦";
    const cut = cutText(family.repeat(100), 20);
    expect([...cut].length).toBeLessThanOrEqual(20);
    expect(cut.replace("…", "").split(family).join("")).toBe("");
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 400 }), (text) => {
        const result = cutText(text);
        expect([...result].length).toBeLessThanOrEqual(255);
        expect(result.isWellFormed()).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("folds newlines so the description stays one line", () => {
    expect(cutText("Failed:\n  task   compile")).toBe("Failed: task compile");
  });
});

describe("fillTemplate", () => {
  it("fills PaC-style and brace placeholders, escaping values", () => {
    expect(
      fillTemplate("https://c/ns/{{ namespace }}/pipelinerun/{{ pr }}", {
        namespace: "team-a",
        pr: "build-1",
      }),
    ).toBe("https://c/ns/team-a/pipelinerun/build-1");
    expect(
      fillTemplate("https://c/{namespace}/{name}?q={lineage}", {
        namespace: "a b",
        name: "x",
        lineage: "l/1",
      }),
    ).toBe("https://c/a%20b/x?q=l%2F1");
    expect(fillTemplate("https://c/{{ unknown }}", {})).toBe("https://c/{{ unknown }}");
  });
});

describe("fitLink", () => {
  const base = "https://console.example/ns/team-a/pipelinerun";
  const name = `build-${"x".repeat(220)}-3`;
  it.each<[string, string, string]>([
    ["keeps a link that fits", `${base}/build-abc-3`, `${base}/build-abc-3`],
    [
      "drops the query and fragment first",
      `${base}/build-abc-3?tab=logs&x=${"y".repeat(240)}#step`,
      `${base}/build-abc-3`,
    ],
    ["goes up to the parent page, not a cut URL", `${base}/${name}`, base],
    ["gives nothing for what is not a URL", `not a url ${"z".repeat(260)}`, ""],
  ])("%s", (_what, url, expected) => expect(fitLink(url)).toBe(expected));
});
