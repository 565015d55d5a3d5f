import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  CoordinationV1Api,
  CoreV1Api,
  type KubeConfig,
  RbacAuthorizationV1Api,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineRun } from "../../src/core/tekton.ts";
import { type QueueState, queueLeaseName, readableQueueState } from "../../src/queue/state.ts";
import { FakeGitLab } from "../fakes/gitlab/server.ts";
import { refusal } from "./support/admission.ts";
import { adminKubeConfig, e2eContext } from "./support/context.ts";
import { gitProviderOf, jobsOf, newCommit, shown, startFakeGitLab } from "./support/gitlab.ts";
import { createReview, httpsPost } from "./support/https-post.ts";
import { newPipelineRun, pacPipelineRun, pipelineRuns } from "./support/pipelineruns.ts";
import { eventually } from "./support/poll.ts";
import { createRepository } from "./support/repositories.ts";
import { grantRepositoryTokens } from "./support/repository-tokens.ts";
import { createSuite } from "./support/suite.ts";
import { type LineageProcess, startTektonLineage } from "./support/tekton-lineage.ts";
import { TektonSimulator } from "./support/tekton-simulator.ts";
import { bindRole, kubeConfigAs } from "./support/users.ts";
import { type RegisteredWebhooks, registerAndServe } from "./support/webhooks.ts";

/**
 * A tenant of namespace "tenant" (its own ServiceAccount: PipelineRuns and Repositories of its namespace,
 * nothing else) and any pod that reaches the webhook port try to turn tekton-lineage against the
 * namespace "victim": cancel its runs, jump its queue, take over or falsify its GitLab status, get its
 * token sent to a host of their choosing. Nothing in the victim's namespace or GitLab may change.
 */
const suite = createSuite("hostile");
const admin = adminKubeConfig();
const runs = pipelineRuns(admin);
const context = "Pipelines as Code CI / build";
let victim: string;
let tenantNamespace: string;
let tenant: KubeConfig;
let tenantRuns: ReturnType<typeof pipelineRuns>;
let gitlab: FakeGitLab;
let evil: FakeGitLab;
let lineage: LineageProcess;
let openPort: LineageProcess;
let webhooks: RegisteredWebhooks;
let tekton: TektonSimulator;
const ca = () => readFileSync(join(e2eContext().certDir, "ca.crt"), "utf8");
/** A new commit of the victim's merge request, known to the victim's GitLab. */
const sha = () => newCommit(gitlab);

/** The tenant's own rights: PipelineRuns and Repositories of its namespace (a ServiceAccount of it). */
async function tenantAccount(namespace: string): Promise<KubeConfig> {
  const core = admin.makeApiClient(CoreV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: "mallory" } } });
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: "tenant" },
      rules: [
        {
          apiGroups: ["tekton.dev"],
          resources: ["pipelineruns"],
          verbs: ["create", "get", "list", "watch", "update", "patch", "delete"],
        },
        {
          apiGroups: ["pipelinesascode.tekton.dev"],
          resources: ["repositories"],
          verbs: ["create", "get", "list", "watch", "update", "patch"],
        },
      ],
    },
  });
  await bindRole(admin, namespace, {
    name: "tenant",
    role: { kind: "Role", name: "tenant" },
    subject: { kind: "ServiceAccount", name: "mallory", namespace },
  });
  return kubeConfigAs(`system:serviceaccount:${namespace}:mallory`);
}

beforeAll(async () => {
  victim = await suite.namespace("victim");
  tenantNamespace = await suite.namespace("tenant");
  gitlab = await startFakeGitLab(victim);
  evil = await new FakeGitLab().start();
  evil.model.addProject(1001, "demo/demo-repo");
  await createRepository(admin, {
    namespace: victim,
    name: "demo-repo",
    gitProvider: gitProviderOf(gitlab),
  });
  // A token in the tenant's namespace that the tenant itself cannot read.
  await admin.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace: tenantNamespace,
    body: { metadata: { name: "ci-token" }, stringData: { token: "glpat-someone-elses" } },
  });
  tenant = await tenantAccount(tenantNamespace);
  tenantRuns = pipelineRuns(tenant);
  const { webhookClientCa } = e2eContext();
  // One bot account for every team (the global token), granted to the victim's namespace only.
  await admin.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace: "tekton-lineage",
    body: { metadata: { name: `gitlab-bot-${suite.id}` }, stringData: { token: "glpat-e2e-0123456789" } },
  });
  const common = [
    `--watch-namespaces=${victim},${tenantNamespace}`,
    `--gitlab-url=${gitlab.url}`,
    `--gitlab-token-secret=tekton-lineage/gitlab-bot-${suite.id}:token`,
    `--gitlab-token-namespaces=${victim}`,
    `--gitlab-hosts=${new URL(gitlab.url).host}`,
    "--console-url=https://console.example/ns/{{ namespace }}/pipelinerun/{{ pr }}",
    "--creation-grace=1500ms",
    "--gitlab-resync=1s",
    "--queue-ttl=3s",
    "--max-queue-length=5",
  ];
  // Where the API server presents its client certificate, only it may send reviews.
  lineage = await startTektonLineage({
    role: "all",
    args: [
      ...common,
      ...(webhookClientCa ? [`--client-ca=${webhookClientCa}`, "--client-ca-subjects=kube-apiserver"] : []),
    ],
  });
  // A second webhook with its port open to anyone, as without --client-ca: what a pod can do through it.
  openPort = await startTektonLineage({ role: "webhook", args: common });
  webhooks = await registerAndServe({
    suite: suite.id,
    port: lineage.port,
    mutatingFailurePolicy: "Fail",
    namespace: victim,
    processes: lineage,
  });
  tekton = new TektonSimulator(admin, [victim, tenantNamespace], () => ({
    durationMs: Number.POSITIVE_INFINITY,
    succeeded: true,
  }));
  await tekton.start();
});

afterAll(async () => {
  tekton?.stop();
  await webhooks?.remove();
  await lineage?.stop();
  await openPort?.stop();
  await gitlab?.stop();
  await evil?.stop();
  await suite.cleanup();
});

/** A victim's run, admitted and started; GitLab shows it running. */
async function victimRun(commit: string): Promise<PipelineRun> {
  const run = await runs.create(pacPipelineRun({ namespace: victim, sha: commit }));
  await eventually("the victim's run to start", () =>
    tekton.started.some((s) => s.run === `${victim}/${run.metadata.name}`),
  );
  return run;
}

describe("a tenant who labels runs to opt out", () => {
  it("cannot forge a claim on the victim's lineage: validation of tekton-lineage's keys has no opt-out", async () => {
    const target = await victimRun(sha());
    const lineageId = target.metadata.labels?.["tekton-lineage.io/lineage-id"] ?? "";
    const forged = newPipelineRun({
      namespace: tenantNamespace,
      name: `build-${lineageId}-999`,
      labels: {
        "tekton-lineage.io/webhook": "disabled",
        "tekton-lineage.io/lineage-id": lineageId,
        "tekton-lineage.io/attempt": "999",
      },
      annotations: {
        "tekton-lineage.io/lineage-id": lineageId,
        "tekton-lineage.io/attempt": "999",
        "pipelinesascode.tekton.dev/cancel-in-progress": "true",
      },
    });
    const failure = await refusal(tenantRuns.create(forged));
    expect(failure?.code).toBe(403);
    expect(failure?.message).toMatch(/not set by tekton-lineage/);
    // A place in someone's queue is a claim like any other.
    const jumper = newPipelineRun({
      namespace: tenantNamespace,
      labels: { "tekton-lineage.io/webhook": "disabled", "tekton-lineage.io/queue-id": "abcdefghij" },
      annotations: { "tekton-lineage.io/queue-ticket": "1", "tekton-lineage.io/queue-slot": "99" },
    });
    expect((await refusal(tenantRuns.create(jumper)))?.code).toBe(403);
  });

  it("cannot add the victim's lineage to an opted-out run afterwards, and the victim's run keeps running", async () => {
    const target = await victimRun(sha());
    const lineageId = target.metadata.labels?.["tekton-lineage.io/lineage-id"] ?? "";
    const plain = await tenantRuns.create(
      newPipelineRun({ namespace: tenantNamespace, labels: { "tekton-lineage.io/webhook": "disabled" } }),
    );
    expect(plain.metadata.labels?.["tekton-lineage.io/lineage-id"]).toBeUndefined(); // opted out of naming
    const failure = await refusal(
      tenantRuns.patchMetadata(tenantNamespace, plain.metadata.name ?? "", {
        labels: { "tekton-lineage.io/lineage-id": lineageId, "tekton-lineage.io/attempt": "999" },
        annotations: { "pipelinesascode.tekton.dev/cancel-in-progress": "true" },
      }),
    );
    expect(failure?.code).toBe(403);
    const after = await runs.get(victim, target.metadata.name ?? "");
    expect(after.spec?.status).toBeUndefined();
  });

  it("cannot start a run waiting in a queue by opting it out and clearing spec.status", async () => {
    await createRepository(tenant, {
      namespace: tenantNamespace,
      name: "tenant-repo",
      annotations: { "tekton-lineage.io/queue": "enabled", "tekton-lineage.io/concurrency-limit": "1" },
    });
    const repo = (commit: string) =>
      pacPipelineRun({ namespace: tenantNamespace, sha: commit, repository: "tenant-repo" });
    await eventually("the webhook to see the tenant's Repository", async () => {
      const first = await tenantRuns.create(repo(sha()), { dryRun: true });
      return first.metadata.labels?.["tekton-lineage.io/queue-id"] !== undefined;
    });
    await tenantRuns.create(repo(sha()));
    const waiting = await tenantRuns.create(repo(sha()));
    expect(waiting.spec?.status).toBe("PipelineRunPending");
    const name = waiting.metadata.name ?? "";
    await tenantRuns.patchMetadata(tenantNamespace, name, {
      labels: { "tekton-lineage.io/webhook": "disabled" },
    });
    const failure = await refusal(
      tenantRuns.patch(tenantNamespace, name, [{ op: "remove", path: "/spec/status" }]),
    );
    expect(failure?.code).toBe(403);
    expect(failure?.message).toMatch(/waits in queue/);
  });
});

/** A client certificate signed by the CA at `caFile` (its key beside it) for `name`. */
function clientCertificate(caFile: string, name: string): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), "client-"));
  const run = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  const [key, csr, crt] = ["c.key", "c.csr", "c.crt"].map((f) => join(dir, f)) as [string, string, string];
  run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key);
  run("req", "-new", "-key", key, "-subj", `/CN=${name}`, "-out", csr);
  writeFileSync(join(dir, "ext.cnf"), "extendedKeyUsage=clientAuth\n");
  const caKey = join(dirname(caFile), "ca.key");
  run(
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    caFile,
    "-CAkey",
    caKey,
    "-CAcreateserial",
    "-CAserial",
    join(dir, "ca.srl"),
    "-days",
    "1",
    "-extfile",
    join(dir, "ext.cnf"),
    "-out",
    crt,
  );
  return { cert: readFileSync(crt, "utf8"), key: readFileSync(key, "utf8") };
}

function postWithCertificate(
  url: string,
  body: string,
  client: { cert: string; key: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: "POST",
        ca: ca(),
        cert: client.cert,
        key: client.key,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("a pod that reaches the webhook port", () => {
  it("gets no answer without the API server's client certificate, where one is required", async ({
    skip,
  }) => {
    if (!e2eContext().webhookClientCa) skip("this cluster's API server presents no client certificate");
    const review = createReview(pacPipelineRun({ namespace: victim, sha: sha() }));
    const answer = await httpsPost(`${lineage.url}/mutate`, { ca: ca(), body: review });
    expect(answer.status).toBe(403);
    expect(answer.body).toMatch(/only from the API server/);
    // A certificate the same CA signed for someone else is not the API server's (--client-ca-subjects).
    const other = clientCertificate(e2eContext().webhookClientCa ?? "", "mallory");
    const signed = await postWithCertificate(`${lineage.url}/mutate`, review, other);
    expect(signed.status).toBe(403);
    expect(JSON.parse(signed.body).message).toMatch(/names "mallory", not one of --client-ca-subjects/);
    // The API server's own calls still get through.
    expect((await victimRun(sha())).metadata.labels?.["tekton-lineage.io/attempt"]).toBe("1");
  });

  it("can bump a victim's counter through an open port, but causes no GitLab write", async () => {
    const commit = sha();
    const target = await victimRun(commit);
    await eventually(
      "the victim's status in GitLab",
      async () => (await shown(gitlab, commit, context))?.status === "running",
    );
    const jobsBefore = await jobsOf(gitlab, commit);
    const made = await httpsPost(`${openPort.url}/mutate`, {
      ca: ca(),
      body: createReview(pacPipelineRun({ namespace: victim, sha: commit })),
    });
    expect(made.status).toBe(200); // admitted: the counter says attempt 2
    // Past the creation grace, tekton-lineage has looked at GitLab again and still shows attempt 1.
    const since = Date.now() + 1500;
    await eventually(
      "tekton-lineage to read GitLab twice after the grace",
      () =>
        gitlab.requests.filter((r) => r.method === "GET" && r.path.includes(commit) && r.at > since).length >=
        2,
    );
    expect(await jobsOf(gitlab, commit)).toEqual(jobsBefore);
    expect((await shown(gitlab, commit, context))?.target_url).toContain(target.metadata.name ?? "?");
  });
});

describe("made-up reviews through an open port", () => {
  /** A made-up admission of a run of the victim's queued Repository; the queue claims it was given. */
  async function madeUp(commit: string): Promise<{ status: number; queueId?: string; ticket?: string }> {
    const answer = await httpsPost(`${openPort.url}/mutate`, {
      ca: ca(),
      body: createReview(pacPipelineRun({ namespace: victim, sha: commit, repository: "queued" })),
    });
    if (answer.status !== 200) return { status: answer.status };
    const patch = JSON.parse(answer.body).response?.patch;
    const ops = patch
      ? (JSON.parse(Buffer.from(patch, "base64").toString()) as { path: string; value: unknown }[])
      : [];
    const meta = ops.find((op) => op.path === "/metadata")?.value as
      | { labels?: Record<string, string>; annotations?: Record<string, string> }
      | undefined;
    const pick = (key: string) =>
      ops.find((op) => op.path.endsWith(key.replace("/", "~1")))?.value as string | undefined;
    return {
      status: 200,
      queueId: meta?.labels?.["tekton-lineage.io/queue-id"] ?? pick("tekton-lineage.io/queue-id"),
      ticket: meta?.annotations?.["tekton-lineage.io/queue-ticket"] ?? pick("tekton-lineage.io/queue-ticket"),
    };
  }

  async function queueState(queueId: string): Promise<QueueState | undefined> {
    const lease = await admin
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace: "tekton-lineage", name: queueLeaseName(queueId) })
      .catch(() => undefined);
    return readableQueueState(lease);
  }

  it("hold no place: the line never fills with them, and a real run starts within seconds", async () => {
    await createRepository(admin, {
      namespace: victim,
      name: "queued",
      annotations: { "tekton-lineage.io/queue": "enabled", "tekton-lineage.io/concurrency-limit": "1" },
    });
    const first = await eventually("the open port to queue the victim's Repository", async () => {
      const answer = await madeUp(sha());
      return answer.queueId ? answer : undefined;
    });
    const queueId = first.queueId ?? "";
    // Four times the line's length (--max-queue-length=5): with every place held, a real create would get 429.
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await madeUp(sha()));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    const flooded = await queueState(queueId);
    expect(flooded?.waiting).toHaveLength(5);
    expect([...(flooded?.slots ?? []), ...(flooded?.waiting ?? [])].every((e) => e.unconfirmed)).toBe(true);

    const started = Date.now();
    const real = await runs.create(pacPipelineRun({ namespace: victim, sha: sha(), repository: "queued" }));
    const key = `${victim}/${real.metadata.name}`;
    expect(real.spec?.status).toBe("PipelineRunPending"); // in line behind the made-up slot holder
    await eventually("the real run to start", () => tekton.started.some((s) => s.run === key), {
      timeoutMs: 30_000,
    });
    process.stdout.write(
      `[hostile] a real run behind 21 made-up admissions started after ${Date.now() - started} ms\n`,
    );
    const after = await eventually("the queue to hold only the real run", async () => {
      const state = await queueState(queueId);
      return state?.slots.length === 1 && state.waiting.length === 0 ? state : undefined;
    });
    expect(after.slots.map((s) => [s.run, s.unconfirmed])).toEqual([[key, undefined]]);
  });
});

describe("a tenant's Repository", () => {
  it("never gets a token sent to a host of the tenant's choosing", async () => {
    await createRepository(tenant, {
      namespace: tenantNamespace,
      name: "evil-repo",
      url: `${evil.url}/demo/demo-repo`,
      gitProvider: { url: evil.url, type: "gitlab", secret: { name: "ci-token", key: "token" } },
    });
    const run = await tenantRuns.create(
      pacPipelineRun({ namespace: tenantNamespace, sha: sha(), repository: "evil-repo" }),
    );
    const refused = await eventually("the refusal recorded on the tenant's Repository", async () => {
      const events = await admin
        .makeApiClient(CoreV1Api)
        .listNamespacedEvent({ namespace: tenantNamespace, fieldSelector: "reason=GitLabHostRefused" });
      return events.items.find((e) => e.involvedObject.name === "evil-repo");
    });
    expect(refused.message).toMatch(/not allowed/);
    expect(run.metadata.name).toBeDefined();
    expect(evil.requests).toEqual([]);
    expect(
      await lineage.metric("tekton_lineage_gitlab_problems_total", { kind: "host-refused" }),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe("a tenant's run annotated with another team's project", () => {
  it("never makes tekton-lineage write into the victim's merge request, with any token", async () => {
    const commit = sha();
    await victimRun(commit);
    await eventually(
      "the victim's status on GitLab",
      async () => (await shown(gitlab, commit, context)) !== undefined,
    );
    const before = (await jobsOf(gitlab, commit)).length;
    // The tenant's own project, and a token that could write anywhere (one bot for every team), which
    // the administrator lets tekton-lineage read in the tenant's namespace: its annotations stay untrusted.
    await grantRepositoryTokens(admin, tenantNamespace);
    gitlab.model.addProject(3001, "tenant/app");
    gitlab.model.addToken("glpat-someone-elses", "ci-bot", "*");
    await createRepository(tenant, {
      namespace: tenantNamespace,
      name: "own-repo",
      url: `${gitlab.url}/tenant/app`,
      gitProvider: { url: gitlab.url, type: "gitlab", secret: { name: "ci-token", key: "token" } },
    });
    // No token of its own: the global token (--gitlab-token-secret) is not granted to this namespace.
    await createRepository(tenant, {
      namespace: tenantNamespace,
      name: "no-token-repo",
      url: `${gitlab.url}/tenant/app`,
      gitProvider: { url: gitlab.url, type: "gitlab" },
    });
    const forged = await tenantRuns.create(
      pacPipelineRun({ namespace: tenantNamespace, sha: commit, repository: "own-repo" }),
    );
    await tenantRuns.create(
      pacPipelineRun({ namespace: tenantNamespace, sha: commit, repository: "no-token-repo" }),
    );
    const refused = await eventually("the refusal recorded on the tenant's run", async () => {
      const events = await admin
        .makeApiClient(CoreV1Api)
        .listNamespacedEvent({ namespace: tenantNamespace, fieldSelector: "reason=GitLabTargetRefused" });
      return events.items.find((e) => e.involvedObject.name === forged.metadata.name);
    });
    expect(refused.message).toBe(
      "tekton-lineage writes no status for this run: the run names project 1001, but its Repository's project is 3001",
    );
    expect(
      await lineage.metric("tekton_lineage_gitlab_problems_total", { kind: "target-refused" }),
    ).toBeGreaterThanOrEqual(1);
    // Nothing new on the victim's commit, in any project.
    expect((await jobsOf(gitlab, commit)).length).toBe(before);
    expect(await jobsOf(gitlab, commit, 3001)).toEqual([]);
  });
});
