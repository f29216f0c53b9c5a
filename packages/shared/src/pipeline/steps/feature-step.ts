import { LockstepError } from "../../errors/lockstep-error.js";
import type { CustomFeature } from "../../spec/container-spec.js";
import { describeRun } from "../exec-output.js";
import { shortHash, type PipelineContext } from "../pipeline-context.js";
import { alreadyDone, changed, type PipelineStep, type StepOutcome } from "../pipeline-step.js";

const GUARD_TIMEOUT_MS = 60_000;

/**
 * A feature: its guard says whether it is in place; the action runs only when it is not, and
 * afterwards the guard must pass. The action's request ID is the job's, so an action that ran
 * before a crash is replayed by the agent, not run again.
 */
export function featureStep(feature: CustomFeature): PipelineStep {
  const id = shortHash(feature.name);
  const guard = (ctx: PipelineContext) =>
    ctx.agent.exec(
      {
        requestId: ctx.probeId("guard", id),
        vmid: ctx.vmid,
        ownershipTag: ctx.ownershipTag,
        argv: feature.guard,
        timeoutMs: GUARD_TIMEOUT_MS,
      },
      { timeoutMs: GUARD_TIMEOUT_MS + 30_000 },
    );
  return {
    name: `feature:${feature.name}`,
    async run(ctx: PipelineContext): Promise<StepOutcome> {
      if ((await guard(ctx)).exitCode === 0) return alreadyDone("guard passed");
      const timeoutMs = feature.timeout_ms ?? 600_000;
      const action = await ctx.agent.exec(
        {
          requestId: ctx.requestId("action", id),
          vmid: ctx.vmid,
          ownershipTag: ctx.ownershipTag,
          argv: feature.action,
          timeoutMs,
        },
        { timeoutMs: timeoutMs + 30_000 },
      );
      if (action.exitCode !== 0)
        throw new LockstepError(
          "COMMAND_FAILED",
          `feature '${feature.name}': ${describeRun("the action failed", action)}`,
          { feature: feature.name },
        );
      const after = await guard(ctx);
      if (after.exitCode !== 0) {
        throw new LockstepError(
          "VERIFICATION_FAILED",
          `feature '${feature.name}': ${describeRun("the action ran", action)}, but ${describeRun("the guard still fails", after)}`,
          { feature: feature.name },
        );
      }
      return changed("action ran; guard passes");
    },
  };
}
