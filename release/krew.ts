/**
 * The krew manifest of `kubectl lineage` for a release: one archive for every OS and architecture krew
 * knows but Windows (the plugin is JavaScript run by the Node on the PATH; krew links a .exe on Windows).
 *
 *   node release/krew.ts <tag> <archive> <uri>     prints lineage.yaml
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { nodeFloor } from "../src/node-floor.ts";

export interface KrewRelease {
  tag: string;
  uri: string;
  sha256: string;
}

export function krewManifest({ tag, uri, sha256 }: KrewRelease): string {
  if (!/^v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(tag))
    throw new Error(`krew needs a semantic version tag, not ${tag}`);
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
  return [
    "apiVersion: krew.googlecontainertools.github.com/v1alpha2",
    "kind: Plugin",
    "metadata:",
    "  name: lineage",
    "spec:",
    `  version: ${tag}`,
    "  homepage: https://github.com/tekton-lineage/tekton-lineage",
    "  shortDescription: Queues and attempt lineage of Tekton PipelineRuns",
    "  description: |",
    "    Reads what tekton-lineage keeps for Tekton PipelineRuns created by Pipelines-as-Code:",
    "    the concurrency queues (queue list, queue clear), why a run was named, queued or reported as it",
    "    was (explain), and the installed version (version). kubectl's flags: -n, -o json|yaml,",
    "    --context, --kubeconfig.",
    "  caveats: |",
    `    Needs Node.js ${nodeFloor} or newer on the PATH: the plugin is JavaScript.`,
    "    It reads with your own rights; the ClusterRoles tekton-lineage-view and tekton-lineage-admin",
    "    (aggregated into view and admin) grant what queue and explain need.",
    "  platforms:",
    "    - selector:",
    "        matchExpressions:",
    "          - key: os",
    "            operator: In",
    "            values: [linux, darwin]",
    `      uri: ${uri}`,
    `      sha256: ${sha256}`,
    "      files:",
    '        - from: "*"',
    "          to: .",
    "      bin: dist/kubectl-lineage.js",
    "",
  ].join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [tag = "", archive = "", uri = ""] = process.argv.slice(2);
  const sha256 = createHash("sha256").update(readFileSync(archive)).digest("hex");
  process.stdout.write(krewManifest({ tag, uri, sha256 }));
}
