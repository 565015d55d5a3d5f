import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export interface ControlPlaneBinaries {
  kubeApiserver: string;
  etcd: string;
  kubectl?: string;
}

const script = fileURLToPath(new URL("./binaries.sh", import.meta.url));

/**
 * Runs a script that builds (or finds in the cache) binaries and prints NAME=path lines; returns them
 * by name, and what it printed.
 */
export async function scriptValues(
  file: string,
  args: string[] = [],
): Promise<{ values: Record<string, string>; stdout: string }> {
  const { stdout } = await promisify(execFile)("bash", [file, ...args], {
    maxBuffer: 16 * 1024 * 1024,
    timeout: 60 * 60_000,
  });
  const values = Object.fromEntries(
    stdout
      .split("\n")
      .filter((line) => line.includes("="))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  ) as Record<string, string>;
  return { values, stdout };
}

/** Builds (or finds in the cache) kube-apiserver and etcd; see binaries.sh for versions and cache. */
export async function obtainBinaries(options: { kubectl?: boolean } = {}): Promise<ControlPlaneBinaries> {
  const { values, stdout } = await scriptValues(script, options.kubectl ? ["kubectl"] : []);
  if (!values.KUBE_APISERVER || !values.ETCD) throw new Error(`binaries.sh printed no paths:\n${stdout}`);
  return { kubeApiserver: values.KUBE_APISERVER, etcd: values.ETCD, kubectl: values.KUBECTL };
}
