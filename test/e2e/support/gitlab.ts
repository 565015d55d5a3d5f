import { CoreV1Api } from "@kubernetes/client-node";
import { FakeGitLab } from "../../fakes/gitlab/server.ts";
import { adminKubeConfig } from "./context.ts";
import { grantRepositoryTokens } from "./repository-tokens.ts";

export const gitlabToken = "glpat-e2e-0123456789";
export const projectId = 1001;

/**
 * A fake GitLab with the demo project and a token, and that token as a Secret in `namespace`, which
 * tekton-lineage may read (the RoleBinding the install documents for namespaces with Repositories).
 */
export async function startFakeGitLab(namespace: string): Promise<FakeGitLab> {
  const gitlab = await new FakeGitLab().start();
  gitlab.model.addProject(projectId, "demo/demo-repo");
  gitlab.model.addToken(gitlabToken, "tekton-lineage-bot");
  gitlab.model.addToken("glpat-pac", "pipelines-as-code");
  await adminKubeConfig()
    .makeApiClient(CoreV1Api)
    .createNamespacedSecret({
      namespace,
      body: { metadata: { name: "gitlab-token" }, stringData: { token: gitlabToken } },
    });
  await grantRepositoryTokens(adminKubeConfig(), namespace);
  return gitlab;
}

export interface Job {
  id: number;
  status: string;
  description: string | null;
  target_url: string | null;
  retried: boolean;
  name: string;
  author: { username: string };
}

/** Every job of the commit, oldest first, from the fake's read-only view. */
export async function jobsOf(gitlab: FakeGitLab, sha: string): Promise<Job[]> {
  const response = await fetch(`${gitlab.url}/__fake/projects/${projectId}/commits/${sha}/statuses`);
  return (await response.json()) as Job[];
}

/** The job GitLab shows now for a context (newest not retried). */
export async function shown(gitlab: FakeGitLab, sha: string, context: string): Promise<Job | undefined> {
  return (await jobsOf(gitlab, sha))
    .filter((j) => j.name === context && !j.retried)
    .sort((a, b) => b.id - a.id)[0];
}
