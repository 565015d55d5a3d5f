import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { condition, mergeVariants, minimize, renderTemplate } from "./variants.ts";

const names = [".Values.a", ".Values.b", ".Values.c"];

/** What Helm does with a template of flat `{{- if }}` blocks, for the conditions condition() writes. */
function evaluate(expression: string, combination: number): boolean {
  const tokens = expression.replaceAll("(", " ( ").replaceAll(")", " ) ").trim().split(/\s+/);
  let k = 0;
  const term = (): boolean => {
    const t = tokens[k++] as string;
    if (t !== "(") return (combination & (1 << names.indexOf(t))) !== 0;
    const v = call();
    k++; // ")"
    return v;
  };
  const call = (): boolean => {
    const op = tokens[k];
    if (op !== "and" && op !== "or" && op !== "not") return term();
    k++;
    const args: boolean[] = [];
    while (k < tokens.length && tokens[k] !== ")") args.push(term());
    return op === "not" ? !args[0] : op === "and" ? args.every(Boolean) : args.some(Boolean);
  };
  return call();
}

function renderFor(template: string, combination: number): string[] {
  const out: string[] = [];
  let on = true;
  for (const line of template.split("\n").slice(0, -1)) {
    const open = /^\{\{- if (.*) \}\}$/.exec(line);
    if (open) on = evaluate(open[1] as string, combination);
    else if (line === "{{- end }}") on = true;
    else if (on) out.push(line);
  }
  return out;
}

describe("mergeVariants and renderTemplate", () => {
  it("give back every combination's lines exactly", () => {
    const line = fc.constantFrom("a: 1", "b: 2", "- get", "- list", "kind: X", "  c: 3");
    fc.assert(
      fc.property(fc.array(fc.array(line, { maxLength: 12 }), { minLength: 8, maxLength: 8 }), (renders) => {
        const variants = new Map(renders.map((lines, combination) => [combination, lines]));
        const template = renderTemplate(mergeVariants(variants), names);
        for (const [combination, lines] of variants) expect(renderFor(template, combination)).toEqual(lines);
      }),
      { numRuns: 300 },
    );
  });

  it("writes lines common to all renders once, without a condition", () => {
    const variants = new Map<number, string[]>();
    for (let c = 0; c < 8; c++)
      variants.set(c, c & 1 ? ["kind: X", "extra: yes", "end: 1"] : ["kind: X", "end: 1"]);
    expect(renderTemplate(mergeVariants(variants), names)).toBe(
      ["kind: X", "{{- if .Values.a }}", "extra: yes", "{{- end }}", "end: 1", ""].join("\n"),
    );
  });
});

describe("minimize and condition", () => {
  it.each<[string, number[], string | undefined]>([
    ["always", [0, 1, 2, 3, 4, 5, 6, 7], undefined],
    ["one toggle", [1, 3, 5, 7], ".Values.a"],
    ["one toggle off", [0, 2, 4, 6], "not .Values.a"],
    ["two toggles on", [3, 7], "and .Values.a .Values.b"],
    ["either of two", [1, 2, 3, 5, 6, 7], "or .Values.a .Values.b"],
    ["one combination", [5], "and .Values.a (not .Values.b) .Values.c"],
  ])("%s", (_, combinations, expected) => {
    const terms = minimize(new Set(combinations), names.length);
    expect(terms.length === 0 ? undefined : condition(terms, names)).toBe(expected);
  });

  it("is true exactly on the combinations, for every set", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 7 }), (set) => {
        const expression = condition(minimize(new Set(set), names.length), names);
        for (let c = 0; c < 8; c++) expect(evaluate(expression, c)).toBe(set.includes(c));
      }),
    );
  });
});
