/**
 * One template from many renders. Each combination of toggles (a bit mask) renders a manifest through
 * kustomize; the template keeps every line once, in an order consistent with every render, with the set
 * of combinations that contain it. Runs of lines with the same set become one `{{- if … }}` block whose
 * condition is that set written as a boolean expression of the toggles. Blocks never nest, so rendering
 * the template for a combination yields exactly that combination's lines: correct by construction, and
 * test/e2e/helm-chart.e2e.test.ts checks it against kustomize for every combination.
 */

export interface MergedLine {
  readonly text: string;
  /** The combinations whose render contains this line. */
  readonly combinations: ReadonlySet<number>;
}

/**
 * Merges the renders (combination → lines) one by one: a longest common subsequence matches a render's
 * lines to the merged ones; matched lines gain the combination, the others are inserted where they stand.
 */
export function mergeVariants(variants: ReadonlyMap<number, readonly string[]>): MergedLine[] {
  let merged: { text: string; combinations: Set<number> }[] = [];
  for (const [combination, lines] of [...variants].sort(([a], [b]) => a - b)) {
    const pairs = commonSubsequence(
      merged.map((m) => m.text),
      lines,
    );
    const next: typeof merged = [];
    let i = 0;
    let j = 0;
    for (const [mi, lj] of [...pairs, [merged.length, lines.length] as const]) {
      while (i < mi) next.push(merged[i++] as (typeof merged)[number]);
      while (j < lj) next.push({ text: lines[j++] as string, combinations: new Set([combination]) });
      if (mi < merged.length) {
        const line = merged[i++] as (typeof merged)[number];
        line.combinations.add(combination);
        next.push(line);
        j++;
      }
    }
    merged = next;
  }
  return merged;
}

/** Index pairs of a longest common subsequence of a and b, in order. */
function commonSubsequence(a: readonly string[], b: readonly string[]): [number, number][] {
  const width = b.length + 1;
  const table = new Int32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i * width + j] =
        a[i] === b[j]
          ? (table[(i + 1) * width + j + 1] as number) + 1
          : Math.max(table[(i + 1) * width + j] as number, table[i * width + j + 1] as number);
    }
  }
  const pairs: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) pairs.push([i++, j++]);
    else if ((table[(i + 1) * width + j] as number) >= (table[i * width + j + 1] as number)) i++;
    else j++;
  }
  return pairs;
}

/** A product term: the bits of `value` that `care` selects must match; the others do not matter. */
interface Term {
  value: number;
  care: number;
}

/**
 * A short sum of products for the set of combinations (Quine–McCluskey: prime implicants, then the
 * essential ones and a greedy cover of the rest). An empty list of terms means "always".
 */
export function minimize(combinations: ReadonlySet<number>, toggles: number): Term[] {
  const all = (1 << toggles) - 1;
  if (combinations.size === 1 << toggles) return [];
  let terms: Term[] = [...combinations].map((value) => ({ value, care: all }));
  const primes: Term[] = [];
  while (terms.length > 0) {
    const combined = new Map<string, Term>();
    const used = new Set<Term>();
    for (const [k, a] of terms.entries()) {
      for (const b of terms.slice(k + 1)) {
        const differ = (a.value ^ b.value) & a.care;
        if (a.care !== b.care || differ === 0 || (differ & (differ - 1)) !== 0) continue;
        const term = { value: a.value & ~differ & all, care: a.care & ~differ };
        combined.set(`${term.value}/${term.care}`, term);
        used.add(a).add(b);
      }
    }
    primes.push(...terms.filter((t) => !used.has(t)));
    terms = [...combined.values()];
  }
  const covers = (t: Term, c: number) => (c & t.care) === t.value;
  const chosen: Term[] = [];
  const left = new Set(combinations);
  for (const c of combinations) {
    const only = primes.filter((t) => covers(t, c));
    if (only.length === 1 && !chosen.includes(only[0] as Term)) chosen.push(only[0] as Term);
  }
  for (const t of chosen) for (const c of [...left]) if (covers(t, c)) left.delete(c);
  while (left.size > 0) {
    const best = primes
      .map((t) => ({ t, n: [...left].filter((c) => covers(t, c)).length }))
      .sort((x, y) => y.n - x.n)[0] as { t: Term; n: number };
    chosen.push(best.t);
    for (const c of [...left]) if (covers(best.t, c)) left.delete(c);
  }
  return chosen;
}

/** The Go template condition for the terms, bit i of a combination being the value `names[i]`. */
export function condition(terms: readonly Term[], names: readonly string[]): string {
  const literal = (bit: number, on: boolean) => (on ? names[bit] : `(not ${names[bit]})`);
  const product = (t: Term) => {
    const literals = names.flatMap((_, bit) =>
      t.care & (1 << bit) ? [literal(bit, (t.value & (1 << bit)) !== 0)] : [],
    );
    return literals.length === 1 ? (literals[0] as string) : `(and ${literals.join(" ")})`;
  };
  const sum = terms.map(product);
  const expression = sum.length === 1 ? (sum[0] as string) : `(or ${sum.join(" ")})`;
  // The outermost parentheses are the `if`'s own.
  return expression.startsWith("(") ? expression.slice(1, -1) : expression;
}

/** The template of merged lines: runs with the same combinations under one `{{- if }}` block each. */
export function renderTemplate(lines: readonly MergedLine[], names: readonly string[]): string {
  const out: string[] = [];
  let k = 0;
  while (k < lines.length) {
    const set = (lines[k] as MergedLine).combinations;
    let end = k + 1;
    while (end < lines.length && sameSet((lines[end] as MergedLine).combinations, set)) end++;
    const terms = minimize(set, names.length);
    const body = lines.slice(k, end).map((l) => l.text);
    if (terms.length === 0) out.push(...body);
    else out.push(`{{- if ${condition(terms, names)} }}`, ...body, "{{- end }}");
    k = end;
  }
  return `${out.join("\n")}\n`;
}

function sameSet(a: ReadonlySet<number>, b: ReadonlySet<number>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}
