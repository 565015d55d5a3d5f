/** The label on every object tekton-lineage creates for itself (Leases, Secrets). */
export const managedByKey = "app.kubernetes.io/managed-by";
export const managedByValue = "tekton-lineage";
export const managedByLabel = { [managedByKey]: managedByValue } as const;
