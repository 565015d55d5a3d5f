import {
  AppsV1Api,
  dumpYaml,
  loadAllYaml,
  RbacAuthorizationV1Api,
  type V1Deployment,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canI } from "./support/can-i.ts";
import { adminKubeConfig } from "./support/context.ts";
import { kubectlApply, renderOverlay, withPodCidr } from "./support/manifests.ts";
import { createSuite } from "./support/suite.ts";

/**
 * The pac-sidecar overlays, applied server-side as their README says, into a namespace standing in for
 * PaC's where PaC's watcher Deployment was installed first (its shape from PaC's config/500-watcher.yaml
 * and 202-watcher-role.yaml). Namespaced objects are applied for real; cluster-scoped ones (the
 * ClusterRole(Binding) and webhook configurations, which share names with the install under test
 * elsewhere) with --dry-run=server.
 */
const suite = createSuite("sidecar");
const admin = adminKubeConfig();
const apps = admin.makeApiClient(AppsV1Api);
const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
let namespace: string;

type K8sObject = {
  kind: string;
  metadata: { name: string; namespace?: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
  webhooks?: { clientConfig: { service?: { namespace: string } } }[];
};
const clusterScoped = new Set([
  "ClusterRole",
  "ClusterRoleBinding",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
]);

/** PaC's watcher as PaC's release installs it (trimmed to what matters here), applied by "PaC". */
const pacWatcher = (ns: string) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: {
    name: "pipelines-as-code-watcher",
    namespace: ns,
    labels: { "app.kubernetes.io/part-of": "pipelines-as-code" },
  },
  spec: {
    replicas: 1,
    selector: {
      matchLabels: {
        "app.kubernetes.io/name": "watcher",
        "app.kubernetes.io/component": "watcher",
        "app.kubernetes.io/instance": "default",
        "app.kubernetes.io/part-of": "pipelines-as-code",
      },
    },
    template: {
      metadata: {
        labels: {
          "app.kubernetes.io/name": "watcher",
          "app.kubernetes.io/component": "watcher",
          "app.kubernetes.io/instance": "default",
          "app.kubernetes.io/part-of": "pipelines-as-code",
          app: "pipelines-as-code-watcher",
        },
      },
      spec: {
        securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
        serviceAccountName: "pipelines-as-code-watcher",
        containers: [
          {
            name: "pac-watcher",
            image: "ghcr.io/tektoncd/pipelines-as-code/pipelines-as-code-watcher:v0.39.0",
            ports: [
              { name: "probes", containerPort: 8080 },
              { name: "metrics", containerPort: 9090 },
            ],
            readinessProbe: { httpGet: { path: "/live", port: "probes", scheme: "HTTP" } },
            livenessProbe: { httpGet: { path: "/live", port: "probes", scheme: "HTTP" } },
          },
        ],
      },
    },
  },
});

/** The overlay's objects with PaC's namespace replaced by the test's, where namespaces are named. */
function intoNamespace(yaml: string, from: string, to: string): K8sObject[] {
  return (loadAllYaml(yaml) as K8sObject[]).map((object) => {
    if (object.metadata.namespace !== undefined) {
      expect(object.metadata.namespace).toBe(from);
      object.metadata.namespace = to;
    }
    for (const subject of object.subjects ?? []) if (subject.namespace === from) subject.namespace = to;
    for (const webhook of object.webhooks ?? [])
      if (webhook.clientConfig.service?.namespace === from) webhook.clientConfig.service.namespace = to;
    return object;
  });
}

const toYaml = (objects: object[]) => objects.map((o) => dumpYaml(o)).join("---\n");
let rendered: K8sObject[];
let deployment: V1Deployment;

beforeAll(async () => {
  namespace = await suite.namespace("pac");
  kubectlApply(toYaml([pacWatcher(namespace)]), { fieldManager: "pipelines-as-code" });
  rendered = intoNamespace(withPodCidr(renderOverlay("pac-sidecar")), "pipelines-as-code", namespace);
  kubectlApply(toYaml(rendered.filter((o) => !clusterScoped.has(o.kind))), {
    fieldManager: "tekton-lineage",
  });
  kubectlApply(toYaml(rendered.filter((o) => clusterScoped.has(o.kind))), {
    fieldManager: "tekton-lineage",
    dryRun: true,
  });
  deployment = await apps.readNamespacedDeployment({ name: "pipelines-as-code-watcher", namespace });
  // The ClusterRoleBinding for real, under a name of this run's (the install under test holds the
  // release's): with it, what the watcher's ServiceAccount may do can be asked of the API server.
  const binding = rendered.find((o) => o.kind === "ClusterRoleBinding");
  if (binding)
    kubectlApply(toYaml([{ ...binding, metadata: { ...binding.metadata, name: sidecarBinding() } }]));
});

const sidecarBinding = () => `tekton-lineage-sidecar-${suite.id}`;

afterAll(async () => {
  await rbac.deleteClusterRoleBinding({ name: sidecarBinding() }).catch(() => undefined);
  await suite.cleanup();
});

describe("the pac-sidecar overlay", () => {
  it("adds tekton-lineage as a container of PaC's watcher and leaves PaC's container and pod alone", () => {
    const pod = deployment.spec?.template.spec;
    expect(pod?.containers.map((c) => c.name)).toEqual(["pac-watcher", "tekton-lineage"]);
    expect(pod?.containers[0]).toMatchObject(pacWatcher(namespace).spec.template.spec.containers[0] ?? {});
    expect(pod?.serviceAccountName).toBe("pipelines-as-code-watcher");
    expect(pod?.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    expect(deployment.spec?.replicas).toBe(1);
    expect(deployment.metadata?.managedFields?.map((f) => f.manager).sort()).toEqual([
      "pipelines-as-code",
      "tekton-lineage",
    ]);
  });

  it("gives the sidecar its own port, probes, user and a grace period that lets admissions drain", () => {
    const pod = deployment.spec?.template.spec;
    const sidecar = pod?.containers.find((c) => c.name === "tekton-lineage");
    const ports = pod?.containers.flatMap((c) => c.ports ?? []) ?? [];
    expect(new Set(ports.map((p) => p.name)).size).toBe(ports.length);
    expect(new Set(ports.map((p) => p.containerPort)).size).toBe(ports.length);
    expect(sidecar?.ports).toEqual([
      { name: "tl-https", containerPort: 8443, protocol: "TCP" },
      { name: "tl-metrics", containerPort: 9095, protocol: "TCP" },
    ]);
    expect(sidecar?.readinessProbe?.httpGet).toMatchObject({
      path: "/readyz",
      port: "tl-metrics",
      scheme: "HTTP",
    });
    expect(sidecar?.livenessProbe?.httpGet).toMatchObject({
      path: "/healthz",
      port: "tl-metrics",
      scheme: "HTTP",
    });
    expect(sidecar?.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true });
    // No fixed UID: OpenShift's restricted-v2 SCC refuses one outside the namespace's range.
    expect(sidecar?.securityContext?.runAsUser).toBeUndefined();
    expect(sidecar?.envFrom).toEqual([{ configMapRef: { name: "tekton-lineage" } }]);
    expect(pod?.terminationGracePeriodSeconds).toBe(40);
  });

  it("keeps a NetworkPolicy on the sidecar's ports, and lets every port of PaC's through as before", () => {
    const policy = rendered.find((o) => o.kind === "NetworkPolicy") as unknown as {
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        ingress: {
          from?: unknown[];
          ports: { port: number | string; endPort?: number; protocol: string }[];
        }[];
      };
    };
    expect(policy).toBeDefined();
    const labels = deployment.spec?.template.metadata?.labels ?? {};
    for (const [key, value] of Object.entries(policy.spec.podSelector.matchLabels))
      expect(labels[key]).toBe(value);
    const [apiServer, scrapers, everyoneElse] = policy.spec.ingress;
    expect(apiServer?.ports.map((p) => p.port)).toEqual(["tl-https", "tl-metrics"]);
    expect(scrapers?.ports.map((p) => p.port)).toEqual(["tl-metrics"]); // never admission
    // Open to anyone: every TCP port but the sidecar's two, so PaC's probes (8080) and metrics (9090) are.
    const open = (port: number) =>
      everyoneElse !== undefined &&
      everyoneElse.from === undefined &&
      everyoneElse.ports.some(
        (p) => p.protocol === "TCP" && Number(p.port) <= port && port <= (p.endPort ?? Number(p.port)),
      );
    expect([8080, 9090, 1, 65535].every(open)).toBe(true);
    expect([8443, 9095].some(open)).toBe(false);
    // Applied for real above: the API server took it, with the pod CIDR the overlay must set.
    expect(JSON.stringify(policy)).toContain("10.244.0.0/16");
  });

  it("gives PaC's watcher ServiceAccount no right standalone tekton-lineage does not have, and none over PaC's Secrets", () => {
    const watcher = `system:serviceaccount:${namespace}:pipelines-as-code-watcher`;
    const standalone = "system:serviceaccount:tekton-lineage:tekton-lineage";
    // [verb, resource, in its own namespace or another, the sidecar may, standalone may]. Standalone may
    // read any Secret of its own namespace, where only its own live; the sidecar, in PaC's, only its two.
    const checks: [string, string, "own" | "other", "yes" | "no", "yes" | "no"][] = [
      ["get", "secrets/tekton-lineage-signing", "own", "yes", "yes"],
      ["update", "secrets/tekton-lineage-tls", "own", "yes", "yes"],
      ["create", "secrets", "own", "yes", "yes"],
      ["get", "secrets/pipelines-as-code-secret", "own", "no", "yes"], // PaC's webhook secret lives there
      ["list", "secrets", "own", "no", "yes"],
      ["get", "secrets", "other", "no", "no"],
      ["create", "leases", "own", "yes", "yes"],
      ["delete", "leases", "own", "yes", "yes"],
      ["patch", "pipelineruns", "other", "yes", "yes"],
      ["delete", "pipelineruns", "other", "no", "no"],
      ["create", "pipelineruns", "other", "no", "no"],
      ["update", "deployments", "own", "no", "no"],
      ["list", "repositories.pipelinesascode.tekton.dev", "other", "yes", "yes"],
      ["update", "repositories.pipelinesascode.tekton.dev", "other", "no", "no"],
    ];
    const answers = checks.map(([verb, resource, where]) => [
      verb,
      resource,
      where,
      canI(watcher, verb, resource, where === "own" ? namespace : "default"),
      canI(standalone, verb, resource, where === "own" ? "tekton-lineage" : "default"),
    ]);
    expect(answers).toEqual(checks);
    // Nothing the sidecar may do is beyond what standalone may.
    expect(answers.filter(([, , , sidecar, alone]) => sidecar === "yes" && alone !== "yes")).toEqual([]);
  });

  it("serves the webhooks through a Service that selects the watcher's pods on the sidecar's port", () => {
    const service = rendered.find((o) => o.kind === "Service") as unknown as {
      spec: { selector: Record<string, string>; ports: { port: number; targetPort: string }[] };
    };
    const labels = deployment.spec?.template.metadata?.labels ?? {};
    for (const [key, value] of Object.entries(service.spec.selector)) expect(labels[key]).toBe(value);
    expect(service.spec.ports).toEqual([expect.objectContaining({ port: 443, targetPort: "tl-https" })]);
    const hooks = rendered.filter((o) => o.kind.endsWith("WebhookConfiguration"));
    expect(hooks).toHaveLength(2);
    for (const hook of hooks)
      expect(hook.webhooks?.[0]?.clientConfig.service).toMatchObject({ name: "tekton-lineage", namespace });
  });

  it("binds tekton-lineage's rights to the watcher's ServiceAccount, Secrets of PaC's namespace by name only", async () => {
    const watcher = { kind: "ServiceAccount", name: "pipelines-as-code-watcher", namespace };
    const binding = rendered.find((o) => o.kind === "ClusterRoleBinding");
    expect(binding?.subjects).toEqual([watcher]);
    const roleBinding = await rbac.readNamespacedRoleBinding({ name: "tekton-lineage", namespace });
    expect(roleBinding.subjects).toEqual([watcher]);
    const role = await rbac.readNamespacedRole({ name: "tekton-lineage", namespace });
    const secretRules = role.rules?.filter((r) => r.resources?.includes("secrets")) ?? [];
    for (const rule of secretRules) {
      if (rule.resourceNames === undefined) expect(rule.verbs).toEqual(["create"]);
      else expect(rule.resourceNames.sort()).toEqual(["tekton-lineage-signing", "tekton-lineage-tls"]);
    }
    expect(rendered.map((o) => o.kind)).not.toContain("ServiceAccount");
    expect(rendered.map((o) => o.kind)).not.toContain("Namespace");
    expect(rendered.map((o) => o.kind)).not.toContain("PodDisruptionBudget");
  });

  it("elects its own leader, apart from PaC's Leases, and reads PaC's ConfigMap in its own namespace", () => {
    const configMap = rendered.find((o) => o.kind === "ConfigMap") as unknown as {
      data: Record<string, string>;
    };
    expect(configMap.data.TEKTON_LINEAGE_LEADER_ELECTION_ID).toBe("tekton-lineage-sidecar-reconciler");
    expect(configMap.data.TEKTON_LINEAGE_PAC_NAMESPACE).toBe("pipelines-as-code");
  });

  it("survives PaC re-applying its own Deployment (an upgrade): the sidecar stays", async () => {
    const upgraded = pacWatcher(namespace);
    const [container] = upgraded.spec.template.spec.containers;
    if (container) container.image = "ghcr.io/tektoncd/pipelines-as-code/pipelines-as-code-watcher:v0.40.0";
    kubectlApply(toYaml([upgraded]), { fieldManager: "pipelines-as-code" });
    const after = await apps.readNamespacedDeployment({ name: "pipelines-as-code-watcher", namespace });
    expect(after.spec?.template.spec?.containers.map((c) => [c.name, c.image])).toEqual([
      ["pac-watcher", "ghcr.io/tektoncd/pipelines-as-code/pipelines-as-code-watcher:v0.40.0"],
      ["tekton-lineage", "ghcr.io/tekton-lineage/tekton-lineage:v0.1.0"],
    ]);
  });

  it("renders for OpenShift Pipelines in openshift-pipelines", () => {
    const objects = loadAllYaml(renderOverlay("pac-sidecar-openshift")) as K8sObject[];
    for (const o of objects)
      if (o.metadata.namespace !== undefined) expect(o.metadata.namespace).toBe("openshift-pipelines");
    expect(objects.find((o) => o.kind === "ClusterRoleBinding")?.subjects).toEqual([
      { kind: "ServiceAccount", name: "pipelines-as-code-watcher", namespace: "openshift-pipelines" },
    ]);
  });
});
