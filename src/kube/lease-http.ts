import type { KubeConfig, V1Lease } from "@kubernetes/client-node";
import { KubeApiError, KubeHttp, type KubeHttpOptions } from "./kube-http.ts";
import type { LeaseAccess } from "./leases.ts";

/**
 * Lease reads and writes in plain JSON over KubeHttp, for the admission hot path: every admitted run
 * costs a Lease write, and client-node's generated client spent more CPU on each than tekton-lineage
 * itself.
 */
export class HttpLeaseStore implements LeaseAccess {
  readonly namespace: string;
  private readonly http: KubeHttp;

  /** Over its own connection, or over `http`'s (shared with the process's other plain-JSON calls). */
  constructor(kubeConfig: KubeConfig | KubeHttp, namespace: string, options: KubeHttpOptions = {}) {
    this.http = kubeConfig instanceof KubeHttp ? kubeConfig : new KubeHttp(kubeConfig, options);
    this.namespace = namespace;
  }

  private path(name?: string): string {
    const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/leases`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  async get(name: string): Promise<V1Lease | undefined> {
    try {
      return (await this.http.call("GET", this.path(name))) as V1Lease;
    } catch (error) {
      if (error instanceof KubeApiError && error.code === 404) return undefined;
      throw error;
    }
  }

  async create(lease: V1Lease): Promise<V1Lease> {
    return (await this.http.call("POST", this.path(), leaseBody(lease))) as V1Lease;
  }

  /** Replaces only if the stored resourceVersion is still the one in `lease` (409 otherwise). */
  async replace(lease: V1Lease): Promise<V1Lease> {
    return (await this.http.call("PUT", this.path(lease.metadata?.name ?? ""), leaseBody(lease))) as V1Lease;
  }

  async deleteIfUnchanged(name: string, resourceVersion: string): Promise<boolean> {
    try {
      await this.http.call("DELETE", this.path(name), { preconditions: { resourceVersion } });
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && (error.code === 404 || error.code === 409)) return false;
      throw error;
    }
  }

  async list(labelSelector: string): Promise<V1Lease[]> {
    const query = `?labelSelector=${encodeURIComponent(labelSelector)}`;
    return ((await this.http.call("GET", `${this.path()}${query}`)) as { items: V1Lease[] }).items;
  }

  /** Closes the HTTP/2 connection (tests, shutdown); a later call opens a new one. */
  close(): void {
    this.http.close();
  }
}

/** The Lease as sent: typed, and without managedFields (omitted, the API server keeps them as they are). */
function leaseBody(lease: V1Lease): V1Lease {
  const { managedFields: _, ...metadata } = lease.metadata ?? {};
  return { apiVersion: "coordination.k8s.io/v1", kind: "Lease", ...lease, metadata };
}
