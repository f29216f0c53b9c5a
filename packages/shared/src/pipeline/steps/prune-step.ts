import { LockstepError } from "../../errors/lockstep-error.js";
import { SNAPSHOT_PREFIX, type PipelineContext } from "../pipeline-context.js";
import { alreadyDone, changed, type PipelineStep, type StepOutcome } from "../pipeline-step.js";

/** Keeps the newest `keep_last` Lockstep snapshots; snapshots Lockstep did not make are never touched. */
export const pruneStep: PipelineStep = {
  name: "prune",
  async run(ctx: PipelineContext): Promise<StepOutcome> {
    const keepLast = ctx.input.keepLast;
    const pruned = await ctx.agent.pruneSnapshots(
      {
        requestId: ctx.requestId("prune"),
        vmid: ctx.vmid,
        ownershipTag: ctx.ownershipTag,
        keepLast,
        prefix: SNAPSHOT_PREFIX,
      },
      { timeoutMs: 30 * 60_000 },
    );
    if (pruned.failed.length > 0) {
      throw new LockstepError(
        "COMMAND_FAILED",
        `pruning left ${pruned.failed.length} snapshot(s): ${pruned.failed.map((f) => `${f.name}: ${f.message}`).join("; ")}`,
      );
    }
    if (pruned.deleted.length === 0)
      return alreadyDone(`${pruned.kept.length} Lockstep snapshot(s), keep_last ${keepLast}`);
    return changed(`deleted ${pruned.deleted.join(", ")}; kept ${pruned.kept.length}`);
  },
};
