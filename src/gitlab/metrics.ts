import { Counter, Gauge, type Registry } from "prom-client";

export interface GitLabMetrics {
  requests: Counter<"method" | "status">;
  writes: Counter<"state">;
  repairs: Counter;
  problems: Counter<"kind">;
  reportsTakenOver: Counter;
  quietLineages: Gauge;
}

export function createGitLabMetrics(registry: Registry): GitLabMetrics {
  return {
    requests: new Counter({
      name: "tekton_lineage_gitlab_requests_total",
      help: "Requests sent to GitLab, by method and HTTP status (0: no answer).",
      labelNames: ["method", "status"],
      registers: [registry],
    }),
    writes: new Counter({
      name: "tekton_lineage_gitlab_status_writes_total",
      help: "Commit statuses posted to GitLab, by state.",
      labelNames: ["state"],
      registers: [registry],
    }),
    repairs: new Counter({
      name: "tekton_lineage_gitlab_repairs_total",
      help: "Times GitLab was found showing something else than tekton-lineage had written, and was set right.",
      registers: [registry],
    }),
    problems: new Counter({
      name: "tekton_lineage_gitlab_problems_total",
      help: "Reports that could not be made, by kind (config, refused, contested, creation-failed).",
      labelNames: ["kind"],
      registers: [registry],
    }),
    reportsTakenOver: new Counter({
      name: "tekton_lineage_pac_reports_taken_over_total",
      help: "Runs whose final GitLab report tekton-lineage took from Pipelines-as-Code's watcher (a newer attempt exists), so PaC cannot post it onto the latest attempt's status.",
      registers: [registry],
    }),
    quietLineages: new Gauge({
      name: "tekton_lineage_gitlab_quiet_lineages",
      help: "Lineages whose GitLab status is final and settled: read again only when one of their runs or their attempt counter changes, never on a resync.",
      registers: [registry],
    }),
  };
}
