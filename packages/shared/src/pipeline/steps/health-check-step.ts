import { LockstepError } from "../../errors/lockstep-error.js";
import type { HealthCheck } from "../../spec/container-spec.js";
import { describeRun } from "../exec-output.js";
import { shortHash, type PipelineContext } from "../pipeline-context.js";
import { verified, type PipelineStep, type StepOutcome } from "../pipeline-step.js";

/** A health check: its command inside the container must exit 0 within its attempts. */
export function healthCheckStep(check: HealthCheck): PipelineStep {
  return {
    name: `health:${check.name}`,
    async run(ctx: PipelineContext): Promise<StepOutcome> {
      for (let attempt = 1; ; attempt++) {
        const run = await ctx.agent.exec(
          {
            requestId: ctx.probeId("health", shortHash(check.name)),
            vmid: ctx.vmid,
            ownershipTag: ctx.ownershipTag,
            argv: check.command,
            timeoutMs: check.timeout_ms,
          },
          { timeoutMs: check.timeout_ms + 30_000 },
        );
        if (run.exitCode === 0) return verified(`healthy after ${attempt} attempt(s)`);
        if (attempt >= check.attempts)
          throw new LockstepError(
            "VERIFICATION_FAILED",
            `health check '${check.name}' failed ${attempt} time(s): ${describeRun("last run", run)}`,
            { check: check.name },
          );
        await ctx.input.clock.sleep(check.interval_ms);
      }
    },
  };
}
