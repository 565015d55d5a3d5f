import { ApiException, type V1Lease } from "@kubernetes/client-node";
import type { LeaseAccess } from "../kube/leases.ts";

/** What the next write should suffer, to test how callers handle the API server's failures. */
export type InjectedFailure =
  | "conflict" // 409 before writing
  | "lost" // timeout, and the write did NOT happen
  | "committed-then-timeout"; // the write happened, but the caller sees a timeout

/**
 * An in-memory Lease store with the API server's optimistic concurrency (resourceVersion) and
 * injectable failures; for unit tests only.
 */
export class MemoryLeases implements LeaseAccess {
  readonly namespace = "tekton-lineage";
  readonly leases = new Map<string, V1Lease>();
  readonly failures: InjectedFailure[] = [];
  writes = 0;
  reads = 0;
  private version = 0;
  /** Delay of every call, to let concurrent callers interleave. */
  latencyMs = 0;

  private async tick() {
    await new Promise((r) => setTimeout(r, this.latencyMs));
  }

  async get(name: string) {
    await this.tick();
    this.reads += 1;
    const lease = this.leases.get(name);
    return lease ? structuredClone(lease) : undefined;
  }

  async create(lease: V1Lease) {
    return this.write(lease, true);
  }

  async replace(lease: V1Lease) {
    return this.write(lease, false);
  }

  async deleteIfUnchanged(name: string, resourceVersion: string) {
    await this.tick();
    const lease = this.leases.get(name);
    if (!lease || lease.metadata?.resourceVersion !== resourceVersion) return false;
    this.leases.delete(name);
    return true;
  }

  async list(labelSelector: string) {
    await this.tick();
    const [key, value] = labelSelector.split("=");
    return [...this.leases.values()]
      .filter((l) => key === undefined || l.metadata?.labels?.[key] === value)
      .map((l) => structuredClone(l));
  }

  private async write(lease: V1Lease, create: boolean): Promise<V1Lease> {
    await this.tick();
    const failure = this.failures.shift();
    const name = lease.metadata?.name ?? "";
    if (failure === "conflict") throw new ApiException(409, "Conflict", '{"reason":"Conflict"}', {});
    if (failure === "lost") throw new TypeError("fetch failed: timeout");
    const stored = this.leases.get(name);
    if (create && stored) throw new ApiException(409, "Conflict", '{"reason":"AlreadyExists"}', {});
    if (!create && !stored) throw new ApiException(404, "Not Found", '{"reason":"NotFound"}', {});
    if (!create && stored?.metadata?.resourceVersion !== lease.metadata?.resourceVersion) {
      throw new ApiException(409, "Conflict", '{"reason":"Conflict"}', {});
    }
    this.version += 1;
    this.writes += 1;
    const saved = structuredClone(lease);
    saved.metadata = { ...saved.metadata, resourceVersion: String(this.version) };
    this.leases.set(name, saved);
    if (failure === "committed-then-timeout") throw new TypeError("fetch failed: timeout");
    return structuredClone(saved);
  }
}
