import { describe, expect, it } from "vitest";
import type { PipelineRun } from "../../core/tekton.ts";
import { newMemory, nextReadAfterRunEnded, noticeEndedRuns, readsAfterRunEnded } from "./lineage-memory.ts";

const run = (name: string, done: boolean): PipelineRun => ({
  metadata: { name },
  status: done ? { conditions: [{ type: "Succeeded", status: "True", reason: "Succeeded" }] } : {},
});
const known = { key: "k", status: { id: 1, status: "running", targetUrl: "", description: "" }, at: 0 };

describe("reads after a run of the lineage ended", () => {
  it("reads GitLab again on PaC's schedule after a run ends, and not for runs already done at start", () => {
    const memory = newMemory();
    memory.known = known;
    noticeEndedRuns(memory, [run("a-1", true), run("a-2", false)], 0);
    expect(memory.known.at).toBe(0);
    expect(nextReadAfterRunEnded(memory, 0)).toBeUndefined();

    noticeEndedRuns(memory, [run("a-1", true), run("a-2", true)], 100);
    expect(memory.known.at).toBe(0);
    const reads: number[] = [];
    let now = 100;
    for (let i = 0; i < 10; i++) {
      const next = nextReadAfterRunEnded(memory, now);
      if (next === undefined) break;
      now += next;
      memory.known = { ...known, at: now };
      noticeEndedRuns(memory, [run("a-1", true), run("a-2", true)], now);
      if (memory.known.at === Number.NEGATIVE_INFINITY) reads.push(now - 100);
    }
    expect(reads).toHaveLength(readsAfterRunEnded.length);
    reads.forEach((at, i) => {
      expect(at).toBeGreaterThanOrEqual(readsAfterRunEnded[i] ?? 0);
      expect(at).toBeLessThan((readsAfterRunEnded[i] ?? 0) + 50);
    });
    expect(nextReadAfterRunEnded(memory, now)).toBeUndefined();
  });
});
