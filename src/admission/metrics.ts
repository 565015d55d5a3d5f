import { Counter, Histogram, type Registry } from "prom-client";

export interface AdmissionMetrics {
  duration: Histogram<"path" | "outcome">;
  reviews: Counter<"path" | "outcome">;
  shed: Counter<"path">;
}

export function createAdmissionMetrics(registry: Registry): AdmissionMetrics {
  return {
    duration: new Histogram({
      name: "tekton_lineage_admission_duration_seconds",
      help: "Time from receiving an AdmissionReview to sending its response, by path and outcome.",
      labelNames: ["path", "outcome"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    shed: new Counter({
      name: "tekton_lineage_admission_shed_total",
      help: "AdmissionReviews shed: refused with 429 before their body was read (too many in progress), or cut while it arrived (the largest body when bodies did not fit --max-in-flight-bytes).",
      labelNames: ["path"],
      registers: [registry],
    }),
    reviews: new Counter({
      name: "tekton_lineage_admission_reviews_total",
      help: "AdmissionReviews answered, by path and outcome (allowed, patched, denied, fallback, rejected).",
      labelNames: ["path", "outcome"],
      registers: [registry],
    }),
  };
}
