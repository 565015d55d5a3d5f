import type { PipelineRun } from "../../core/tekton.ts";
import { admissionKeys, labelKeys, pac } from "../../core/vocabulary.ts";
import { namesNoRun, type PacConfig, pacDetailUrl } from "../../pac/config.ts";
import { fillTemplate, fitLink } from "./text.ts";

/** What a status links to. */
export interface Links {
  /** The link to a run: the one GitLab should show while this run is the latest attempt. */
  run(run: PipelineRun): string;
  /** The link for an attempt that was never created ("" when none is configured; never a console root). */
  missing(attempt: { namespace: string; name: string; lineageId: string; attempt: number }): string;
  /** Every link that names this run, tekton-lineage's and PaC's: how a status written by PaC is recognised. */
  namesOf(run: PipelineRun): string[];
}

/** Link templates: PaC's {{ namespace }} / {{ pr }} or {namespace} / {name} / {lineage} / {attempt}. */
export interface LinkTemplates {
  /** --console-url: wins over PaC's links when set. */
  console?: string;
  /** --error-url. */
  error?: string;
}

function fill(
  template: string,
  values: { namespace: string; name: string; lineage: string; attempt: string },
) {
  return fillTemplate(template, { ...values, pr: values.name });
}

function templateOf(run: PipelineRun, template: string): string {
  return fill(template, {
    namespace: run.metadata.namespace ?? "",
    name: run.metadata.name ?? "",
    lineage: run.metadata.labels?.[labelKeys.lineageId] ?? "",
    attempt: run.metadata.annotations?.[admissionKeys.attempt] ?? "",
  });
}

/**
 * The links tekton-lineage gives: --console-url when set; else the link PaC itself gave the run (its
 * log-url annotation, PaC's ConsoleUI().DetailURL, written by startPR); else the one PaC's settings say
 * (Tekton Dashboard, custom console); else none. A link that names no run (a console root, PaC's
 * "is.not.configured" placeholders) is never used.
 */
export function runLinks(templates: LinkTemplates, pacConfig: () => PacConfig): Links {
  const candidates = (run: PipelineRun): string[] => {
    const config = pacConfig();
    const namespace = run.metadata.namespace ?? "";
    const name = run.metadata.name ?? "";
    const found = [
      templates.console ? templateOf(run, templates.console) : "",
      run.metadata.annotations?.[pac.logUrl]?.trim() ?? "",
      pacDetailUrl(config, namespace, name) ?? "",
    ];
    return found.filter((url) => url !== "" && !namesNoRun(config, url));
  };
  return {
    // A link within GitLab's 255 characters, else the first one shortened to a page above the run's.
    run: (run) => {
      const found = candidates(run);
      return found.find((url) => fitLink(url) === url) ?? fitLink(found[0] ?? "");
    },
    missing: (attempt) =>
      templates.error
        ? fitLink(
            fill(templates.error, {
              namespace: attempt.namespace,
              name: attempt.name,
              lineage: attempt.lineageId,
              attempt: String(attempt.attempt),
            }),
          )
        : "",
    namesOf: (run) => [...new Set(candidates(run))],
  };
}
