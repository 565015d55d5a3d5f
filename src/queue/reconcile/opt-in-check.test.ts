import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { Repository } from "../../core/repository.ts";
import { silentLogger } from "../../observability/logger.ts";
import { MemoryCache } from "../../testing/memory-cache.ts";
import { RecordingEvents } from "../../testing/runs.ts";
import { QueueLimits } from "../limits.ts";
import { OptInCheck } from "./opt-in-check.ts";

const repository = (name: string, annotations: Record<string, string>, limit?: number): Repository => ({
  metadata: { namespace: "team-a", name, annotations },
  spec: { concurrency_limit: limit },
});
const optedIn = { "tekton-lineage.io/queue": "enabled", "tekton-lineage.io/concurrency-limit": "2" };

function setup(repositories: Repository[], global?: Repository) {
  const cache = new MemoryCache<Repository>(repositories);
  const events = new RecordingEvents();
  const registry = new Registry();
  const limits = new QueueLimits({
    repositories: cache,
    globalRepository: () => global,
    rules: [],
    defaultMaxWaitMs: 0,
  });
  const check = new OptInCheck({ repositories: cache, limits, events, logger: silentLogger(), registry });
  const gauge = async () =>
    (await registry.getSingleMetric("tekton_lineage_queue_opt_in_refused")?.get())?.values ?? [];
  return { cache, check, events, gauge };
}

describe("OptInCheck", () => {
  it.each<[string, Repository, Repository | undefined, boolean]>([
    ["an opt-in PaC overrides with the repository's own limit", repository("r", optedIn, 3), undefined, true],
    [
      "an opt-in PaC overrides with the global limit",
      repository("r", optedIn),
      repository("pipelines-as-code", {}, 4),
      true,
    ],
    [
      "an opt-in shielded from the global limit by concurrency_limit: 0",
      repository("r", optedIn, 0),
      repository("g", {}, 4),
      false,
    ],
    ["an opt-in PaC enforces nothing on", repository("r", optedIn), undefined, false],
    ["a repository that did not opt in", repository("r", {}, 3), undefined, false],
  ])("says so loudly, once, for %s", async (_what, repo, global, refused) => {
    const { check, events, gauge } = setup([repo], global);
    check.reconcile("team-a/r");
    check.reconcile("team-a/r");
    expect(events.summary).toEqual(refused ? ["QueueOptInRefused r"] : []);
    expect((await gauge()).map((v) => v.value)).toEqual(refused ? [1] : []);
  });

  it("clears the gauge once the conflict is mended", async () => {
    const { cache, check, gauge } = setup([repository("r", optedIn, 3)]);
    check.reconcile("team-a/r");
    cache.set(repository("r", optedIn));
    check.reconcile("team-a/r");
    expect(await gauge()).toEqual([]);
  });
});
