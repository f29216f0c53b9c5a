import * as agentV1 from "../../gen/lockstep/agent/v1/agent.js";
import type { PipelineContext } from "../pipeline-context.js";
import { alreadyDone, changed, type PipelineStep, type StepOutcome } from "../pipeline-step.js";
import { DETAIL_REASON } from "../../errors/detail-reason.js";
import { LockstepError } from "../../errors/lockstep-error.js";

/**
 * Starts the container; restarts it when this job changed configuration that only a start
 * applies. The stop and the start have request IDs of their own: a retry never restarts twice.
 */
export const startStep: PipelineStep = {
  name: "start",
  async run(ctx: PipelineContext): Promise<StepOutcome> {
    // A container this job created was first started by this job, after its configuration: on
    // a retry it may be running already, but it runs what the spec says.
    const restart = !ctx.createdByThisJob && ctx.wasRunning && ctx.restartKeys.size > 0;
    if (restart)
      await ctx.agent.stopContainer(
        { requestId: ctx.requestId("restart", "stop"), vmid: ctx.vmid, ownershipTag: ctx.ownershipTag },
        { timeoutMs: 5 * 60_000 },
      );
    const started = await ctx.agent.startContainer(
      {
        requestId: ctx.requestId(restart ? "restart" : "start", "start"),
        vmid: ctx.vmid,
        ownershipTag: ctx.ownershipTag,
      },
      { timeoutMs: 5 * 60_000 },
    );
    if (started.status !== agentV1.ContainerStatus.RUNNING)
      throw new LockstepError("VERIFICATION_FAILED", `CT ${ctx.vmid} is not running after start`, {
        vmid: String(ctx.vmid),
        reason: DETAIL_REASON.notRunning,
      });
    if (restart) return changed(`restarted to apply ${[...ctx.restartKeys].join(", ")}`);
    return started.changed ? changed("started") : alreadyDone("already running");
  },
};
