import { readFileSync } from "node:fs";

/** As the image runs tekton-lineage (Dockerfile: NODE_OPTIONS, MALLOC_ARENA_MAX). */
export const imageEnvironment = {
  NODE_OPTIONS: "--max-semi-space-size=2 --max-old-space-size=256",
  MALLOC_ARENA_MAX: "2",
};

/** The Deployment's memory limit (webhook-config/base/deployment.yaml). */
export const memoryLimitBytes = 384 * 1024 * 1024;

/** Peak resident memory of a process so far (VmHWM), in bytes. */
export function peakRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmHWM:"));
  return Number(/(\d+)/.exec(line ?? "")?.[1] ?? 0) * 1024;
}
