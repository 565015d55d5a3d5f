import type { KubeConfig } from "@kubernetes/client-node";
import { Counter, type Registry } from "prom-client";
import { PooledKubeConfig } from "./kubeconfig.ts";

/** The resource an API URL addresses (leases, pipelineruns, events, ...), and whether it is a watch. */
export function resourceOf(url: string): { resource: string; watch: boolean } {
  const parsed = new URL(url);
  const segments = parsed.pathname.split("/").filter(Boolean);
  // /api/v1/namespaces/ns/events, /apis/g/v/namespaces/ns/pipelineruns/name/status, /apis/g/v/leases
  const afterVersion = segments[0] === "api" ? segments.slice(2) : segments.slice(3);
  const rest =
    afterVersion[0] === "namespaces" && afterVersion.length > 2 ? afterVersion.slice(2) : afterVersion;
  const resource = rest[0] ?? "unknown";
  const sub = rest[2];
  return {
    resource: sub ? `${resource}/${sub}` : resource,
    watch: parsed.searchParams.get("watch") === "true",
  };
}

/** Counts API requests by verb and resource: the cost of tekton-lineage to the API server. */
export function countApiRequests(kubeConfig: KubeConfig, registry: Registry): void {
  if (!(kubeConfig instanceof PooledKubeConfig)) return;
  const requests = new Counter({
    name: "tekton_lineage_api_requests_total",
    help: "Requests sent to the Kubernetes API server, by HTTP method and resource (WATCH for watches).",
    labelNames: ["method", "resource"],
    registers: [registry],
  });
  kubeConfig.onRequest = (method, url) => {
    const { resource, watch } = resourceOf(url);
    requests.inc({ method: watch ? "WATCH" : method, resource });
  };
}
