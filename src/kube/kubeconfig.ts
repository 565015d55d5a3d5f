import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";

type RequestContext = Parameters<KubeConfig["applySecurityAuthentication"]>[0];
type Dispatcher = ReturnType<RequestContext["getDispatcher"]>;
type CreateDispatcher = (cluster: unknown, agentOptions: Record<string, unknown>) => Dispatcher;

/**
 * A KubeConfig whose API calls share one connection pool and time out.
 *
 * client-node 2.0 builds a new undici Agent (a new pool) for every request, so every call pays for a new
 * Agent, a TCP and TLS handshake, and leaves an idle socket behind. Here one Agent is kept per distinct
 * set of connection options (server, CA, client certificate, proxy) and reused; a rotated client
 * certificate gives a new set, hence a new Agent. Calls without a signal of their own get a timeout, so a
 * hung API server cannot hold a caller forever; watches set their own signal and are not affected.
 */
export class PooledKubeConfig extends KubeConfig {
  requestTimeoutMs = 10_000;
  /** Told of every API request (method and URL) as it is sent, for metrics. */
  onRequest: ((method: string, url: string) => void) | undefined;
  private readonly pools = new Map<string, Dispatcher>();

  constructor() {
    super();
    // createDispatcher is private in client-node's typings; it is the one place the Agent is made. The
    // package is pinned exactly (package.json) while this holds; an upgrade that moves it fails here.
    const self = this as unknown as { createDispatcher?: CreateDispatcher };
    if (typeof self.createDispatcher !== "function")
      throw new Error(
        "@kubernetes/client-node no longer has KubeConfig.createDispatcher: PooledKubeConfig (src/kube/kubeconfig.ts) must follow the upgrade",
      );
    const original = self.createDispatcher.bind(this);
    self.createDispatcher = (cluster, agentOptions) => {
      const key = optionsKey(cluster, agentOptions);
      if (!this.pools.has(key)) this.pools.set(key, original(cluster, agentOptions));
      return this.pools.get(key);
    };
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    this.onRequest?.(String(context.getHttpMethod()), context.getUrl());
    if (!context.getSignal()) context.setSignal(AbortSignal.timeout(this.requestTimeoutMs));
  }
}

function optionsKey(cluster: unknown, agentOptions: Record<string, unknown>): string {
  const hash = createHash("sha256");
  const c = (cluster ?? {}) as { server?: string; proxyUrl?: string; skipTLSVerify?: boolean };
  hash.update(
    JSON.stringify([
      c.server,
      c.proxyUrl,
      c.skipTLSVerify,
      agentOptions.servername,
      agentOptions.rejectUnauthorized,
    ]),
  );
  for (const field of ["ca", "cert", "key", "pfx", "passphrase"]) {
    const value = agentOptions[field];
    hash.update(`|${field}:`);
    if (Buffer.isBuffer(value) || typeof value === "string") hash.update(value);
  }
  return hash.digest("base64");
}

const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

export function runningInCluster(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync(`${serviceAccountDir}/token`);
}

/** An explicit file first; then the in-cluster service account; then $KUBECONFIG or ~/.kube/config. */
export function loadKubeConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new PooledKubeConfig();
  if (file) kc.loadFromFile(file);
  else if (runningInCluster(env)) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) {
    throw new Error(
      "no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a cluster",
    );
  }
  return kc;
}

/** The namespace that holds tekton-lineage's own objects. */
export function ownNamespace(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (configured) return configured;
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  const file = `${serviceAccountDir}/namespace`;
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  return "tekton-lineage";
}
