import { type Setting, settings } from "./settings.ts";

const usage = `tekton-lineage: admission webhook and reconciler for Tekton PipelineRuns.

Usage:
  tekton-lineage webhook      serve /mutate and /validate over HTTPS
  tekton-lineage reconciler   run the queue, lineage and GitLab status reconcilers
  tekton-lineage all          both, in one process (the default for one replica and local runs)
  tekton-lineage queue list   print every queue: its key, limit, who runs and who waits, in order
  tekton-lineage queue clear <key>   cancel every run waiting in one queue
  tekton-lineage signing-key rotate   sign with a new key from now on; the old one is kept while runs
                              it signed are alive
  tekton-lineage explain <namespace>/<pipelinerun> | --lineage [<ns>/]<id> | --commit [<ns>/]<sha>
                              why GitLab shows what it shows: each attempt of the lineage (admitted,
                              created or why not, queued, started, finished, superseded, its Events),
                              the status GitLab should show and the one it shows now (--output json)
  tekton-lineage version      the version of tekton-lineage and of Node (--output json)


Every setting can be given as a flag or as an environment variable (the ConfigMap keys of the
Deployment are the same names). Flags win over the environment; the environment wins over defaults.
`;

export function helpText(): string {
  const lines = (Object.values(settings) as Setting<unknown>[]).map((s) => {
    const shown = s.defaultText ?? (s.default === "" ? "(empty)" : s.default);
    return `  --${s.flag} (${s.env})\n      ${s.description}\n      default: ${shown}`;
  });
  return `${usage}\nSettings:\n${lines.join("\n")}\n`;
}
