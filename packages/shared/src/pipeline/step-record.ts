/** How one pipeline step went: `skipped` means its check found the work already done. */
export type StepStatus = "running" | "skipped" | "succeeded" | "failed";

/** One step as recorded on its operation and streamed while it runs. */
export interface StepRecord {
  readonly name: string;
  readonly status: StepStatus;
  /** The step changed something on the node, in this attempt or an earlier one of the same job. */
  readonly changed: boolean;
  /** The attempt that changed it; null when nothing changed. */
  readonly changed_attempt: number | null;
  readonly detail: string;
  readonly attempt: number;
  readonly started_at: string;
  readonly finished_at: string | null;
  readonly duration_ms: number | null;
  readonly error: { readonly code: string; readonly message: string } | null;
}

/**
 * A step's new record in the list of an operation's steps: one entry per step name, the
 * latest attempt's, in first-run order. A change made by an earlier attempt stays reported,
 * because the retry that finds it done did not undo it.
 */
export function mergeStep(steps: readonly StepRecord[], record: StepRecord): StepRecord[] {
  const at = steps.findIndex((s) => s.name === record.name);
  if (at < 0) return [...steps, record];
  const earlier = record.changed ? null : steps[at]!.changed_attempt;
  const merged: StepRecord =
    earlier === null
      ? record
      : {
          ...record,
          changed: true,
          changed_attempt: earlier,
          ...(record.status === "skipped"
            ? { status: "succeeded", detail: `${record.detail} (changed by attempt ${earlier})` }
            : {}),
        };
  return steps.map((s, i) => (i === at ? merged : s));
}

/** The names of the steps that changed something. */
export function changedSteps(steps: readonly StepRecord[]): string[] {
  return steps.filter((s) => s.changed).map((s) => s.name);
}
