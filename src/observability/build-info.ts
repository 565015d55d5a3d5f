import { readFileSync } from "node:fs";
import { Gauge, type Registry } from "prom-client";

/** What this process is: tekton-lineage's version (its package.json, beside src/ and dist/) and Node's. */
export interface BuildInfo {
  version: string;
  node: string;
}

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  if (cached) return cached;
  let version = "unknown";
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    if (typeof pkg.version === "string") version = pkg.version;
  } catch {
    // an image without its package.json: the version stays unknown rather than failing the process
  }
  cached = { version, node: process.version };
  return cached;
}

/** `tekton_lineage_build_info{version,node} 1`, as Kubernetes components export theirs. */
export function registerBuildInfo(registry: Registry): void {
  const gauge = new Gauge({
    name: "tekton_lineage_build_info",
    help: "1, labelled with the running tekton-lineage version and Node version.",
    labelNames: ["version", "node"],
    registers: [registry],
  });
  const { version, node } = buildInfo();
  gauge.set({ version, node }, 1);
}
