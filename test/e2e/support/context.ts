import { KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";

/** What the global setup hands to every e2e file. */
export interface E2eContext {
  /** Admin kubeconfig of the cluster under test. */
  kubeconfig: string;
  /**
   * tekton-lineage's ServiceAccount (installed from the local overlay), which processes started by tests
   * act as: RBAC applies to them as to a pod, so a rule missing from the manifests fails a test.
   */
  lineageKubeconfig: string;
  /** A kubeconfig for a user without permissions of its own, when the harness made one (local control plane). */
  developerKubeconfig?: string;
  /** ca.crt, tls.crt, tls.key for tekton-lineage processes started by tests. */
  certDir: string;
  /** Address the API server uses to reach webhook processes started by tests. */
  webhookHost: string;
  /** True when the harness started its own control plane. */
  local: boolean;
  serverVersion: string;
  /** Where tests put process logs. */
  logDir: string;
  /** A kubectl binary, for checking the commands the README documents. */
  kubectl: string;
  /** The CA of the API server's webhook client certificate, when the harness configured one (local). */
  webhookClientCa?: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    e2e: E2eContext;
  }
}

export function e2eContext(): E2eContext {
  return inject("e2e");
}

export function adminKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(e2eContext().kubeconfig);
  return kc;
}
