import { randomBytes } from "node:crypto";
import type { FakeGitLab } from "../../fakes/gitlab/server.ts";
import { bedProject, developer } from "./bed.ts";

/** A pipeline of `.tekton/`: what PaC reads, matches to the event and creates by generateName. */
export interface PipelineFile {
  name: string;
  /** PaC's cancel-in-progress on the template. */
  cancelInProgress?: boolean;
  /** The run's pods wait until the test lets them end (the label tl-testbed/hold, which Tekton copies). */
  hold?: boolean;
  /** The run's step fails (exit code 1). */
  fail?: boolean;
}

/** `.tekton/<name>.yaml`: a PipelineRun with its task embedded, its step naming its own command. */
export function pipelineFile(file: PipelineFile): string {
  const labels = [
    file.hold ? `    tl-testbed/hold: "true"` : "",
    file.fail ? `    tl-testbed/outcome: fail` : "",
  ].filter(Boolean);
  return [
    "apiVersion: tekton.dev/v1",
    "kind: PipelineRun",
    "metadata:",
    `  name: ${file.name}`,
    "  annotations:",
    `    pipelinesascode.tekton.dev/on-event: "[pull_request]"`,
    `    pipelinesascode.tekton.dev/on-target-branch: "[main]"`,
    ...(file.cancelInProgress ? [`    pipelinesascode.tekton.dev/cancel-in-progress: "true"`] : []),
    ...(labels.length ? ["  labels:", ...labels] : []),
    "spec:",
    "  pipelineSpec:",
    "    tasks:",
    `      - name: ${file.name}`,
    "        taskSpec:",
    "          steps:",
    `            - name: ${file.name}`,
    "              image: registry.invalid/busybox",
    `              command: ["true"]`,
  ].join("\n");
}

let nextIid = 1;

/** A new commit on a new branch with these pipelines in `.tekton/`, and a merge request of it into main. */
export function openMergeRequest(
  gitlab: FakeGitLab,
  pipelines: PipelineFile[],
  projectId = bedProject.id,
): { sha: string; iid: number } {
  const iid = nextIid++;
  const branch = `feature/${iid}`;
  const sha = pushCommit(gitlab, projectId, branch, pipelines);
  gitlab.repositories.openMergeRequest(projectId, {
    iid,
    title: `change ${iid}`,
    sourceProjectId: projectId,
    targetProjectId: projectId,
    sourceBranch: branch,
    targetBranch: "main",
    sha,
    author: developer,
  });
  return { sha, iid };
}

/** A new commit pushed to a merge request's branch (GitLab then sends an "update" merge request hook). */
export function pushToMergeRequest(
  gitlab: FakeGitLab,
  iid: number,
  pipelines: PipelineFile[],
  projectId = bedProject.id,
): string {
  const record = gitlab.repositories.mergeRequest(projectId, iid);
  if (!record) throw new Error(`no merge request !${iid}`);
  const sha = pushCommit(gitlab, projectId, record.sourceBranch, pipelines);
  gitlab.repositories.openMergeRequest(projectId, { ...record, sha });
  return sha;
}

function pushCommit(
  gitlab: FakeGitLab,
  projectId: number,
  branch: string,
  pipelines: PipelineFile[],
): string {
  const sha = randomBytes(20).toString("hex");
  gitlab.repositories.pushFiles(
    projectId,
    sha,
    branch,
    Object.fromEntries(pipelines.map((p) => [`.tekton/${p.name}.yaml`, pipelineFile(p)])),
  );
  return sha;
}
