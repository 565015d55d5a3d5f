/** What to explain: one run's lineage, a lineage by id, or every lineage of a commit ([namespace/]value). */
export type ExplainQuery =
  | { run: { namespace: string; name: string } }
  | { lineage: string; namespace?: string }
  | { commit: string; namespace?: string };

/**
 * Takes explain's own flags (--lineage, --commit, as `--flag value` or `--flag=value`) out of the
 * command line, so the rest is read as every other command's settings.
 */
export function takeExplainFlags(argv: readonly string[]): {
  argv: string[];
  lineage?: string;
  commit?: string;
} {
  const rest: string[] = [];
  const found: { lineage?: string; commit?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const match = /^--(lineage|commit)(?:=(.*))?$/.exec(arg);
    if (!match) {
      rest.push(arg);
      continue;
    }
    const value = match[2] ?? argv[++i];
    if (value === undefined || value === "") throw new Error(`--${match[1]} needs a value`);
    found[match[1] as "lineage" | "commit"] = value;
  }
  return { argv: rest, ...found };
}

/** The query of `explain`'s arguments: `<namespace>/<run>`, `--lineage [<namespace>/]<id>`, `--commit [<namespace>/]<sha>`. */
export function explainQuery(args: { target?: string; lineage?: string; commit?: string }): ExplainQuery {
  const given = [args.target, args.lineage, args.commit].filter((v) => v !== undefined);
  if (given.length !== 1)
    throw new Error(
      "explain needs exactly one of <namespace>/<pipelinerun>, --lineage <id> or --commit <sha>",
    );
  const split = (value: string) => {
    const slash = value.lastIndexOf("/");
    return slash < 0 ? { value } : { namespace: value.slice(0, slash), value: value.slice(slash + 1) };
  };
  if (args.target !== undefined) {
    const { namespace, value } = split(args.target);
    if (!namespace || !value) throw new Error(`"${args.target}" is not <namespace>/<pipelinerun>`);
    return { run: { namespace, name: value } };
  }
  if (args.lineage !== undefined) {
    const { namespace, value } = split(args.lineage);
    return { lineage: value, ...(namespace ? { namespace } : {}) };
  }
  const { namespace, value } = split(args.commit ?? "");
  if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(value))
    throw new Error(`"${value}" is not a whole commit sha (PaC labels runs with all 40 characters)`);
  return { commit: value, ...(namespace ? { namespace } : {}) };
}
