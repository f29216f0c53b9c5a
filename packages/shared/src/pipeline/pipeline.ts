import { LockstepError } from "../errors/lockstep-error.js";
import { resolveFeatures } from "../spec/check-spec.js";
import type { ResolvedSpec } from "../spec/container-spec.js";
import { PipelineContext, type PipelineInput } from "./pipeline-context.js";
import type { PipelineStep, StepOutcome } from "./pipeline-step.js";
import { changedSteps, mergeStep, type StepRecord } from "./step-record.js";
import { apparmorStep } from "./steps/apparmor-step.js";
import { configureStep } from "./steps/configure-step.js";
import { createStep } from "./steps/create-step.js";
import { featureStep } from "./steps/feature-step.js";
import { fileStep } from "./steps/file-step.js";
import { healthCheckStep } from "./steps/health-check-step.js";
import { pruneStep } from "./steps/prune-step.js";
import { readyStep } from "./steps/ready-step.js";
import { scriptStep } from "./steps/script-step.js";
import { serviceStep } from "./steps/service-step.js";
import { snapshotStep } from "./steps/snapshot-step.js";
import { startStep } from "./steps/start-step.js";

/** Sees every step record as it changes: at its start and at its end. */
export type StepObserver = (record: StepRecord, all: readonly StepRecord[]) => Promise<void> | void;

export interface PipelineResult {
  readonly steps: readonly StepRecord[];
  /** Names of the steps that changed something in this job. */
  readonly changed: readonly string[];
}

/** The steps for a spec, in the order they run. */
export function pipelineSteps(spec: ResolvedSpec): PipelineStep[] {
  return [
    createStep,
    configureStep,
    apparmorStep,
    startStep,
    ...resolveFeatures(spec).map(featureStep),
    ...spec.files.map(fileStep),
    ...spec.services.map(serviceStep),
    ...(spec.script ? [scriptStep(spec.script)] : []),
    ...spec.health_checks.map(healthCheckStep),
    snapshotStep,
    pruneStep,
    readyStep,
  ];
}

/**
 * Converges a container to its spec, step by step. Each step checks before it acts, and every
 * change carries a request ID derived from the job, so running the same job again, after a
 * crash anywhere, finishes from where it stood without repeating a side effect.
 */
export async function runPipeline(input: PipelineInput, observe: StepObserver): Promise<PipelineResult> {
  const ctx = new PipelineContext(input);
  for (const step of pipelineSteps(input.spec)) await runStep(ctx, step, observe);
  return { steps: ctx.steps, changed: changedSteps(ctx.steps) };
}

async function runStep(ctx: PipelineContext, step: PipelineStep, observe: StepObserver): Promise<void> {
  const clock = ctx.input.clock;
  const startedMs = clock.now();
  const base = { name: step.name, attempt: ctx.input.attempt, started_at: new Date(startedMs).toISOString() };
  const record = async (entry: StepRecord): Promise<void> => {
    ctx.steps = mergeStep(ctx.steps, entry);
    await observe(
      ctx.steps.find((s) => s.name === step.name)!,
      ctx.steps,
    );
  };
  await record({
    ...base,
    status: "running",
    changed: false,
    changed_attempt: null,
    detail: "",
    finished_at: null,
    duration_ms: null,
    error: null,
  });
  let outcome: StepOutcome;
  try {
    outcome = await step.run(ctx);
  } catch (err) {
    const error =
      err instanceof LockstepError
        ? { code: err.code, message: err.message }
        : { code: "INTERNAL", message: err instanceof Error ? err.message : String(err) };
    await record({
      ...base,
      status: "failed",
      changed: false,
      changed_attempt: null,
      detail: error.message,
      finished_at: new Date(clock.now()).toISOString(),
      duration_ms: clock.now() - startedMs,
      error,
    });
    throw err;
  }
  await record({
    ...base,
    ...outcome,
    changed_attempt: outcome.changed ? ctx.input.attempt : null,
    finished_at: new Date(clock.now()).toISOString(),
    duration_ms: clock.now() - startedMs,
    error: null,
  });
}
