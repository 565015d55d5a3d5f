import { Gauge, type Registry } from "prom-client";
import { Controller, type ReconcileResult } from "../../core/controller.ts";
import { type Repository, repositoryQueue, repositoryView } from "../../core/repository.ts";
import type { EventSink } from "../../kube/event-recorder.ts";
import type { ObjectCache } from "../../kube/informer.ts";
import type { Logger } from "../../observability/logger.ts";
import { optInConflict } from "../choose.ts";
import type { QueueLimits } from "../limits.ts";

const repositoryKind = { apiVersion: "pipelinesascode.tekton.dev/v1alpha1", kind: "Repository" };

/**
 * Says it loudly when a Repository opted in to tekton-lineage's queue but Pipelines-as-Code enforces a
 * limit on it itself (its own spec.concurrency_limit or the global Repository's): PaC would queue its runs
 * anyway, so admission leaves them to PaC. A Warning Event on the Repository (once per conflict), the
 * gauge tekton_lineage_queue_opt_in_refused, and a log line; `tekton-lineage queue list` shows it too.
 */
export class OptInCheck {
  readonly controller: Controller;
  private readonly said = new Map<string, string>();
  private readonly refused: Gauge<"namespace" | "repository">;
  private readonly options: {
    repositories: ObjectCache<Repository>;
    limits: Pick<QueueLimits, "pacLimit">;
    events: EventSink;
    logger: Logger;
  };

  constructor(
    options: OptInCheck["options"] & {
      registry: Registry;
      globalRepositoryChanged?: (f: () => void) => void;
    },
  ) {
    this.options = options;
    this.refused = new Gauge({
      name: "tekton_lineage_queue_opt_in_refused",
      help: "1 for each Repository that opted in to tekton-lineage's queue while Pipelines-as-Code enforces a concurrency limit on it itself.",
      labelNames: ["namespace", "repository"],
      registers: [options.registry],
    });
    const keyOf = (r: Repository) => `${r.metadata.namespace}/${r.metadata.name}`;
    this.controller = new Controller({
      name: "queue-opt-in",
      reconcile: (key) => this.reconcile(key),
      caches: [options.repositories],
      initialKeys: () => options.repositories.list().map(keyOf),
      concurrency: 2,
      logger: options.logger,
    });
    options.repositories.onChange((repository, event) =>
      this.controller.enqueueFor(keyOf(repository), event),
    );
    options.globalRepositoryChanged?.(() => {
      for (const repository of options.repositories.list()) this.controller.enqueue(keyOf(repository));
    });
  }

  run(signal: AbortSignal): void {
    this.controller.run(signal);
  }

  reconcile(key: string): ReconcileResult {
    const slash = key.indexOf("/");
    const [namespace, name] = [key.slice(0, slash), key.slice(slash + 1)];
    const view = repositoryView(this.options.repositories.get(namespace, name));
    const pacLimit = view ? this.options.limits.pacLimit(view) : undefined;
    const conflict =
      view && pacLimit && repositoryQueue(view, 0).optedIn ? optInConflict(view, pacLimit) : undefined;
    if (!conflict) {
      this.said.delete(key);
      this.refused.remove({ namespace, repository: name });
      return {};
    }
    this.refused.set({ namespace, repository: name }, 1);
    if (this.said.get(key) !== conflict) {
      this.said.set(key, conflict);
      this.options.logger.warn({ repository: key }, conflict);
      this.options.events.record({
        namespace,
        object: repositoryKind,
        objectName: name,
        reason: "QueueOptInRefused",
        message: conflict,
        type: "Warning",
      });
    }
    return {};
  }
}
