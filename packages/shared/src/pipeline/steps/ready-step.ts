import * as agentV1 from "../../gen/lockstep/agent/v1/agent.js";
import { LockstepError } from "../../errors/lockstep-error.js";
import type { PipelineContext } from "../pipeline-context.js";
import { verified, type PipelineStep, type StepOutcome } from "../pipeline-step.js";

/** Ready is what the node says at the end, not what the steps assumed. */
export const readyStep: PipelineStep = {
  name: "ready",
  async run(ctx: PipelineContext): Promise<StepOutcome> {
    const container = (await ctx.agent.getContainer({ vmid: ctx.vmid })).container;
    if (container?.status !== agentV1.ContainerStatus.RUNNING) throw new LockstepError("VERIFICATION_FAILED", `CT ${ctx.vmid} is not running at the end of the pipeline`, { vmid: String(ctx.vmid) });
    if (container.lock) throw new LockstepError("VERIFICATION_FAILED", `CT ${ctx.vmid} is still locked (${container.lock}) at the end of the pipeline`, { vmid: String(ctx.vmid) });
    return verified(`CT ${ctx.vmid} is running`);
  },
};
