import { fileURLToPath } from "node:url";
import { scriptValues } from "../controlplane/binaries.ts";

/** The real test bed's binaries and the module sources their manifests come from (binaries.sh). */
export interface BedBinaries {
  kubeScheduler: string;
  kubeControllerManager: string;
  kwok: string;
  kwokSource: string;
  tektonController: string;
  tektonSource: string;
  /** By PaC version ("v0.37.0"): the folder with its controller and watcher, and its module source. */
  pac: Record<string, { bin: string; source: string }>;
}

const script = fileURLToPath(new URL("./binaries.sh", import.meta.url));

/** Builds what is missing (minutes, once per machine) and finds the rest in the cache. */
export async function obtainBedBinaries(): Promise<BedBinaries> {
  const { values, stdout } = await scriptValues(script);
  const need = (key: string) => {
    const value = values[key];
    if (!value) throw new Error(`testbed/binaries.sh printed no ${key}:\n${stdout}`);
    return value;
  };
  const pac: BedBinaries["pac"] = {};
  for (const [key, bin] of Object.entries(values)) {
    const version = /^PAC_(v\d+_\d+_\d+)$/.exec(key)?.[1];
    if (version) pac[version.replaceAll("_", ".")] = { bin, source: need(`PAC_SRC_${version}`) };
  }
  return {
    kubeScheduler: need("KUBE_SCHEDULER"),
    kubeControllerManager: need("KUBE_CONTROLLER_MANAGER"),
    kwok: need("KWOK"),
    kwokSource: need("KWOK_SRC"),
    tektonController: need("TEKTON_CONTROLLER"),
    tektonSource: need("TEKTON_SRC"),
    pac,
  };
}
