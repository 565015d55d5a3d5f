import { collectDefaultMetrics, Registry } from "prom-client";
import { registerBuildInfo } from "./build-info.ts";

/** A registry per process (not prom-client's global one), so tests can build several servers. */
export function createRegistry(options: { defaultMetrics: boolean }): Registry {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "tekton_lineage_" });
  registerBuildInfo(registry);
  return registry;
}
