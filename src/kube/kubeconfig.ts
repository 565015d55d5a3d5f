import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";

type RequestContext = Parameters<KubeConfig["applySecurityAuthentication"]>[0];
type Dispatcher = ReturnType<RequestContext["getDispatcher"]>;

/**
 * A KubeConfig whose API calls share one connection pool and time out.
 *
 * client-node 2.0 builds a new undici Agent (a new pool) for every request, so every call pays a TCP and
 * TLS handshake and leaves an idle socket behind. Here the first Agent made for a given set of TLS
 * options is kept and reused (a new one is made when the options change, e.g. a rotated client
 * certificate). Calls without a signal of their own get a timeout, so a hung API server cannot hold a
 * caller forever. Watches set their own signal and are not affected.
 */
export class PooledKubeConfig extends KubeConfig {
  requestTimeoutMs = 10_000;
  private readonly pools = new Map<string, Dispatcher>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (fresh !== undefined) {
      const key = this.poolKey();
      const pooled = this.pools.get(key);
      if (pooled) context.setDispatcher(pooled);
      else this.pools.set(key, fresh);
    }
    if (!context.getSignal()) context.setSignal(AbortSignal.timeout(this.requestTimeoutMs));
  }

  private poolKey(): string {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    const tls = [
      cluster?.server,
      cluster?.caData,
      cluster?.caFile,
      user?.certData,
      user?.certFile,
      user?.keyFile,
    ];
    const files = [cluster?.caFile, user?.certFile, user?.keyFile].map((f) =>
      f && existsSync(f) ? readFileSync(f) : "",
    );
    return createHash("sha256")
      .update(JSON.stringify([tls, files.map((b) => b.toString("base64"))]))
      .digest("hex");
  }
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
