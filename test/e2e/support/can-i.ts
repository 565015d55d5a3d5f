import { execFileSync } from "node:child_process";
import { e2eContext } from "./context.ts";

/** `kubectl auth can-i <verb> <resource> -n <namespace> --as=<user>`: "yes" or "no". */
export function canI(user: string, verb: string, resource: string, namespace: string): string {
  const { kubectl, kubeconfig } = e2eContext();
  const args = ["auth", "can-i", verb, resource, "-n", namespace, `--as=${user}`];
  try {
    return execFileSync(kubectl, [`--kubeconfig=${kubeconfig}`, ...args], { encoding: "utf8" }).trim();
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? "").trim(); // "no" exits 1
  }
}
