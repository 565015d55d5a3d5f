import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpsGet } from "../support/https-get.ts";
import { eventually } from "../support/poll.ts";
import { freePort } from "../support/ports.ts";
import { isAlive, type StartedProcess, startProcess, stopPid } from "../support/processes.ts";
import { type ControlPlaneBinaries, obtainBinaries } from "./binaries.ts";
import { writeKubeconfig } from "./kubeconfig-file.ts";
import { webhookClientAuth } from "./webhook-client.ts";

/** Users known to the API server's token file. `admin` is system:masters; the others have no rights until bound. */
export const localUsers = {
  admin: { name: "admin", groups: ["system:masters"] },
  developer: { name: "alice", groups: ["developers"] },
} as const;

export interface ControlPlaneState {
  dir: string;
  server: string;
  /** kubeconfig of the admin user. */
  kubeconfig: string;
  /** kubeconfig of a user with no permissions of its own (bind roles to "alice" in tests). */
  developerKubeconfig: string;
  pids: { etcd: number; apiserver: number };
  version: string;
  /** The CA of the client certificate the API server presents to webhooks (tekton-lineage's --client-ca). */
  webhookClientCa: string;
}

/**
 * A real etcd and kube-apiserver on loopback, in a fresh directory, as envtest does: no kubelet,
 * scheduler or controllers. Tests play the Tekton controller by writing PipelineRun status.
 */
export async function startControlPlane(options: { detached?: boolean; log?: (line: string) => void } = {}) {
  const log = options.log ?? (() => {});
  const binaries = await obtainBinaries();
  const dir = mkdtempSync(join(tmpdir(), "tekton-lineage-cp-"));
  for (let attempt = 1; ; attempt++) {
    try {
      return await startIn(dir, binaries, options.detached ?? false, log);
    } catch (error) {
      // A free port can be taken between choosing it and binding it; try again with new ports.
      if (attempt >= 3) throw error;
      log(`control plane start failed (${(error as Error).message}); retrying`);
    }
  }
}

async function startIn(
  dir: string,
  binaries: ControlPlaneBinaries,
  detached: boolean,
  log: (l: string) => void,
) {
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcdData = join(dir, `etcd-${etcdPort}`);
  const certDir = join(dir, "apiserver-certs");
  mkdirSync(certDir, { recursive: true });
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  writeFileSync(join(dir, "sa.pub"), publicKey.export({ type: "spki", format: "pem" }));
  writeFileSync(join(dir, "sa.key"), privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  const adminToken = randomBytes(24).toString("hex");
  const developerToken = randomBytes(24).toString("hex");
  writeFileSync(
    join(dir, "tokens.csv"),
    `${adminToken},admin,admin,"system:masters"\n${developerToken},alice,alice,"developers"\n`,
    { mode: 0o600 },
  );

  const webhookClient = webhookClientAuth(dir);
  const etcd = startProcess(
    binaries.etcd,
    [
      `--data-dir=${etcdData}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
      "--unsafe-no-fsync",
      "--quota-backend-bytes=4294967296",
      "--log-level=warn",
    ],
    { logFile: join(dir, "etcd.log"), detached },
  );
  let apiserver: StartedProcess | undefined;
  try {
    await eventually("etcd to be healthy", async () => {
      if (!isAlive(etcd.pid)) throw new Error(`etcd exited; see ${etcd.logFile}`);
      const response = await fetch(`http://127.0.0.1:${etcdPort}/health`);
      return response.ok;
    });
    log(`etcd ready on 127.0.0.1:${etcdPort}`);
    apiserver = startProcess(
      binaries.kubeApiserver,
      [
        `--etcd-servers=http://127.0.0.1:${etcdPort}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${apiPort}`,
        `--cert-dir=${certDir}`,
        `--token-auth-file=${join(dir, "tokens.csv")}`,
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc",
        `--service-account-key-file=${join(dir, "sa.pub")}`,
        `--service-account-signing-key-file=${join(dir, "sa.key")}`,
        "--service-cluster-ip-range=10.0.0.0/24",
        "--disable-admission-plugins=ServiceAccount",
        `--admission-control-config-file=${webhookClient.admissionConfig}`,
        "--max-requests-inflight=1000",
        "--max-mutating-requests-inflight=500",
        "--v=1",
      ],
      { logFile: join(dir, "kube-apiserver.log"), detached },
    );
    const server = `https://127.0.0.1:${apiPort}`;
    const started = apiserver;
    const caFile = join(certDir, "apiserver.crt");
    const caPem = await eventually(
      "kube-apiserver to be ready",
      async () => {
        if (!isAlive(started.pid)) throw new Error(`kube-apiserver exited; see ${started.logFile}`);
        if (!existsSync(caFile)) return undefined;
        const ca = readFileSync(caFile, "utf8");
        const response = await httpsGet(`${server}/readyz`, { ca, token: adminToken });
        return response.status === 200 ? ca : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    const kubeconfig = join(dir, "admin.kubeconfig");
    const developerKubeconfig = join(dir, "developer.kubeconfig");
    writeKubeconfig(kubeconfig, { server, caPem, user: "admin", token: adminToken });
    writeKubeconfig(developerKubeconfig, { server, caPem, user: "alice", token: developerToken });
    const version = await serverVersion(server, caPem, adminToken);
    log(`kube-apiserver ${version} ready at ${server}`);
    const state: ControlPlaneState = {
      dir,
      server,
      kubeconfig,
      developerKubeconfig,
      pids: { etcd: etcd.pid, apiserver: started.pid },
      version,
      webhookClientCa: webhookClient.clientCa,
    };
    writeFileSync(join(dir, "state.json"), JSON.stringify(state, null, 2));
    return state;
  } catch (error) {
    if (apiserver) await stopPid(apiserver.pid);
    await stopPid(etcd.pid);
    throw error;
  }
}

async function serverVersion(server: string, ca: string, token: string): Promise<string> {
  const response = await httpsGet(`${server}/version`, { ca, token });
  return (JSON.parse(response.body) as { gitVersion?: string }).gitVersion ?? "unknown";
}

/** Stops both processes by their own pids and removes the directory. */
export async function stopControlPlane(
  state: Pick<ControlPlaneState, "dir" | "pids">,
  options: { keep?: boolean } = {},
) {
  await stopPid(state.pids.apiserver);
  await stopPid(state.pids.etcd);
  if (!options.keep) rmSync(state.dir, { recursive: true, force: true });
}
