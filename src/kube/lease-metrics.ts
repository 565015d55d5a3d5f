import { Counter, type Registry } from "prom-client";

/** One counter for every Lease writer of the process (attempts, queues, leader), by lease kind. */
export function createLeaseConflictCounter(registry: Registry): Counter<"kind"> {
  return new Counter({
    name: "tekton_lineage_lease_conflicts_total",
    help: "Lease writes that lost an optimistic-concurrency race and were retried, by lease kind.",
    labelNames: ["kind"],
    registers: [registry],
  });
}
