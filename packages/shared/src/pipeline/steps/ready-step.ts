import * as agentV1 from "../../gen/lockstep/agent/v1/agent.js";
import { DETAIL_REASON } from "../../errors/detail-reason.js";
import { LockstepError } from "../../errors/lockstep-error.js";
import type { PipelineContext } from "../pipeline-context.js";
import { verified, type PipelineStep, type StepOutcome } from "../pipeline-step.js";

// Owners that are someone else's operation in progress, which ends the lock by itself: a
// flock holder, a live task (a nightly vzdump's `lock: backup`), an operator's `pct mount`.
// None is this job's: its steps run one after another and all have returned by now.
const LIVE_OWNERS = new Set([agentV1.LockOwnerKind.FLOCK, agentV1.LockOwnerKind.TASK, agentV1.LockOwnerKind.OPERATOR]);

/**
 * Ready is what the node says at the end, not what the steps assumed: the container runs, and
 * any `lock:` on it belongs to someone else's live operation. A lock nothing owns yet (its
 * grace period) or any more (a crash's, STALE) is LOCK_HELD, which the job retries once it is
 * gone (a later attempt's mutation or the reconciler clears a stale one on Lockstep's own CT).
 */
export const readyStep: PipelineStep = {
  name: "ready",
  async run(ctx: PipelineContext): Promise<StepOutcome> {
    const container = (await ctx.agent.getContainer({ vmid: ctx.vmid })).container;
    if (container?.status !== agentV1.ContainerStatus.RUNNING)
      throw new LockstepError("VERIFICATION_FAILED", `CT ${ctx.vmid} is not running at the end of the pipeline`, {
        vmid: String(ctx.vmid),
        reason: DETAIL_REASON.notRunning,
      });
    if (!container.lock) return verified(`CT ${ctx.vmid} is running`);
    const report = await ctx.agent.inspectLock({ vmid: ctx.vmid });
    if (report.verdict === agentV1.LockVerdict.HELD && LIVE_OWNERS.has(report.ownerKind)) {
      return verified(
        `CT ${ctx.vmid} is running; its lock '${container.lock}' belongs to an operation in progress that is not this job's (${report.owner})`,
      );
    }
    throw new LockstepError(
      "LOCK_HELD",
      `CT ${ctx.vmid} is still locked (${container.lock}) at the end of the pipeline: ${report.owner || "nothing owns it"}; the job retries once it is released`,
      { vmid: String(ctx.vmid), config_lock: container.lock },
    );
  },
};
