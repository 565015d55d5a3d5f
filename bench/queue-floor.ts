import {
  type CoreV1Api,
  type CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1Lease,
} from "@kubernetes/client-node";
import { isDone, pipelineRunResource } from "../src/core/tekton.ts";
import { HttpLeaseStore } from "../src/kube/lease-http.ts";
import { compareAndSwap } from "../src/kube/leases.ts";
import { inParallel } from "../test/e2e/support/load.ts";
import { newPipelineRun } from "../test/e2e/support/pipelineruns.ts";
import { eventually } from "../test/e2e/support/poll.ts";
import type { BenchEnvironment } from "./lib/environment.ts";
import { type PromotionLatencies, RunningWatch, runInformer } from "./lib/promotions.ts";

/** The queue of a floor run: an annotation the trimmed cache keeps, as for tekton-lineage's runs. */
const groupKey = "pipelinesascode.tekton.dev/repository";

/**
 * The floor of a promotion on this machine, in the same run: the least any correct queue can do — a
 * controller of its own watch that, when a run of a queue ends, writes the queue's Lease by
 * compare-and-swap and then starts the queue's next run (2 requests, in that order, as a queue must) —
 * measured exactly as tekton-lineage's promotions are, with the same queues and concurrency. It keeps no
 * state beyond its watch cache and does nothing else, so it is what the API server, etcd and the watch
 * hops cost here.
 */
export async function promotionFloor(
  env: BenchEnvironment,
  core: CoreV1Api,
  api: CustomObjectsApi,
  queues: number,
  promotions: number,
): Promise<PromotionLatencies> {
  const kc = env.kubeConfig;
  const namespace = "bench-queue-floor";
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const groups = Array.from({ length: queues }, (_, i) => `q-${i}`);
  const perQueue = Math.ceil(promotions / queues) + 1;
  await inParallel(queues * perQueue, 16, async (i) => {
    const group = groups[i % queues] ?? "";
    const first = i < queues;
    await api.createNamespacedCustomObject({
      ...pipelineRunResource,
      namespace,
      body: newPipelineRun({
        namespace,
        name: `${group}-${String(Math.floor(i / queues)).padStart(3, "0")}`,
        annotations: { [groupKey]: group },
        pending: !first,
      }),
    });
  });
  const store = new HttpLeaseStore(kc, "tekton-lineage");
  const controller = runInformer(kc, namespace, "bench-floor-controller");
  controller.addIndex(groupKey, (run) => run.metadata.annotations?.[groupKey]);
  const promoting = new Set<string>();
  // Each queue's Lease as last written, so a write is one request, as tekton-lineage's cache makes it.
  const written = new Map<string, V1Lease>();
  controller.onChange((run) => {
    const group = run.metadata.annotations?.[groupKey];
    if (!group || !isDone(run) || promoting.has(run.metadata.name ?? "")) return;
    promoting.add(run.metadata.name ?? "");
    const next = controller
      .byIndex(groupKey, group)
      .filter((r) => r.spec?.status === "PipelineRunPending")
      .sort((a, b) => ((a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : 1))[0];
    if (!next) return;
    void (async () => {
      const lease = await compareAndSwap(
        store,
        `bench-floor-${group}`,
        (current) => ({
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { ...current?.metadata, annotations: { holder: next.metadata.name ?? "" } },
          spec: { holderIdentity: next.metadata.name ?? "" },
        }),
        { hint: written.get(group) },
      );
      if (lease) written.set(group, lease);
      await api.patchNamespacedCustomObject(
        {
          ...pipelineRunResource,
          namespace,
          name: next.metadata.name ?? "",
          body: { spec: { status: null } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    })();
  });
  const watch = new RunningWatch(kc, namespace, (run) => run.metadata.annotations?.[groupKey] ?? "");
  controller.start();
  try {
    await controller.whenSynced();
    await watch.start();
    await eventually("one floor run per queue to run", () => watch.runningQueues === queues);
    return await watch.measure(api, namespace, groups, promotions);
  } finally {
    watch.stop();
    controller.stop();
    store.close();
  }
}
