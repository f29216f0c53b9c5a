import type { PipelineContext } from "./pipeline-context.js";
import type { StepStatus } from "./step-record.js";

/** What a finished step reports. */
export interface StepOutcome {
  readonly status: Extract<StepStatus, "skipped" | "succeeded">;
  readonly changed: boolean;
  readonly detail: string;
}

/** One idempotent step: it checks whether its work is done before doing any. */
export interface PipelineStep {
  readonly name: string;
  run(ctx: PipelineContext): Promise<StepOutcome>;
}

/** The check found the work already done. */
export const alreadyDone = (detail: string): StepOutcome => ({ status: "skipped", changed: false, detail });
/** The step changed something on the node. */
export const changed = (detail: string): StepOutcome => ({ status: "succeeded", changed: true, detail });
/** The step verified something and changed nothing (a health check, readiness). */
export const verified = (detail: string): StepOutcome => ({ status: "succeeded", changed: false, detail });
