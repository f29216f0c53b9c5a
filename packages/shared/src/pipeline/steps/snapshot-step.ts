import { SNAPSHOT_PREFIX, type PipelineContext } from "../pipeline-context.js";
import { alreadyDone, changed, type PipelineStep, type StepOutcome } from "../pipeline-step.js";

/**
 * The final snapshot of a converged state, named after the job. It is taken when this job
 * changed something (in any attempt) or when the container has no Lockstep snapshot yet; an
 * apply that changed nothing leaves the newest snapshot as the record of this state.
 */
export const snapshotStep: PipelineStep = {
  name: "snapshot",
  async run(ctx: PipelineContext): Promise<StepOutcome> {
    const name = ctx.snapshotName();
    const snapshots = (await ctx.agent.getContainer({ vmid: ctx.vmid })).snapshots;
    if (snapshots.some((s) => s.name === name)) return alreadyDone(`${name} exists`);
    const ours = snapshots.filter((s) => s.name.startsWith(SNAPSHOT_PREFIX));
    if (ours.length > 0 && !ctx.changedSoFar())
      return alreadyDone(`nothing changed; ${ours.at(-1)!.name} holds this state`);
    const made = await ctx.agent.createSnapshot(
      {
        requestId: ctx.requestId("snapshot"),
        vmid: ctx.vmid,
        ownershipTag: ctx.ownershipTag,
        name,
        description: `Lockstep: ${ctx.input.requestIdBase}`,
      },
      { timeoutMs: 30 * 60_000 },
    );
    return changed(`took ${made.snapshot?.name ?? name}`);
  },
};
