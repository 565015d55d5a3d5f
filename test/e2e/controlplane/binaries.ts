import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export interface ControlPlaneBinaries {
  kubeApiserver: string;
  etcd: string;
  kubectl?: string;
}

const script = fileURLToPath(new URL("./binaries.sh", import.meta.url));

/** Builds (or finds in the cache) kube-apiserver and etcd; see binaries.sh for versions and cache. */
export async function obtainBinaries(options: { kubectl?: boolean } = {}): Promise<ControlPlaneBinaries> {
  const { stdout } = await promisify(execFile)("bash", [script, ...(options.kubectl ? ["kubectl"] : [])], {
    maxBuffer: 16 * 1024 * 1024,
    timeout: 45 * 60_000,
  });
  const values = Object.fromEntries(
    stdout
      .split("\n")
      .filter((line) => line.includes("="))
      .map((line) => line.split("=", 2) as [string, string]),
  );
  if (!values.KUBE_APISERVER || !values.ETCD) throw new Error(`binaries.sh printed no paths:\n${stdout}`);
  return { kubeApiserver: values.KUBE_APISERVER, etcd: values.ETCD, kubectl: values.KUBECTL };
}
