import type { ActionResult, CancelOptions, RunWriter } from "../core/run-actions.ts";
import type { PipelineRun } from "../core/tekton.ts";

/** One write a controller made to a run, as a test reads it. */
export type RecordedAction =
  | { action: "start"; run: string; fence: number; decision: string }
  | ({ action: "cancel"; run: string; decision: string } & CancelOptions)
  | { action: "takeOverReport"; run: string; why: string }
  | { action: "annotateWaiting"; run: string; annotations: Record<string, string | null> }
  | { action: "annotate"; run: string; annotations: Record<string, string | null> }
  | {
      action: "annotateIfUnchanged";
      run: string;
      annotations: Record<string, string>;
      labels: Record<string, string>;
    };

/** A RunWriter that records every write and answers "done" (or what `answer` says); for unit tests. */
export class RecordingRunWriter implements RunWriter {
  readonly actions: RecordedAction[] = [];
  answer: (action: RecordedAction) => ActionResult = () => "done";

  private record(action: RecordedAction): Promise<ActionResult> {
    this.actions.push(action);
    return Promise.resolve(this.answer(action));
  }

  start(run: PipelineRun, fence: number, decision: string) {
    return this.record({ action: "start", run: nameOf(run), fence, decision });
  }

  cancel(run: PipelineRun, decision: string, options: CancelOptions = {}) {
    return this.record({ action: "cancel", run: nameOf(run), decision, ...options });
  }

  takeOverReport(run: PipelineRun, why: string) {
    return this.record({ action: "takeOverReport", run: nameOf(run), why });
  }

  annotateWaiting(run: PipelineRun, annotations: Record<string, string | null>) {
    return this.record({ action: "annotateWaiting", run: nameOf(run), annotations });
  }

  annotate(run: PipelineRun, annotations: Record<string, string | null>) {
    return this.record({ action: "annotate", run: nameOf(run), annotations });
  }

  annotateIfUnchanged(
    run: PipelineRun,
    changes: { annotations: Record<string, string>; labels: Record<string, string> },
  ) {
    return this.record({ action: "annotateIfUnchanged", run: nameOf(run), ...changes });
  }
}

function nameOf(run: PipelineRun): string {
  return `${run.metadata.namespace}/${run.metadata.name}`;
}
