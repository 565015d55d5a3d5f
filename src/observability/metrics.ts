import { collectDefaultMetrics, Registry } from "prom-client";

/** A registry per process (not prom-client's global one), so tests can build several servers. */
export function createRegistry(options: { defaultMetrics: boolean }): Registry {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "tekton_lineage_" });
  return registry;
}
