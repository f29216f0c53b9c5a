import type { PipelineContext } from "../pipeline-context.js";
import { alreadyDone, changed, type PipelineStep, type StepOutcome } from "../pipeline-step.js";
import { desiredConfig } from "./configure-step.js";

/** Creates the container from its template, or clones it, when it is not on the node yet. */
export const createStep: PipelineStep = {
  name: "create",
  async run(ctx: PipelineContext): Promise<StepOutcome> {
    const { spec, vmid } = ctx;
    const common = {
      requestId: ctx.requestId("create"),
      vmid,
      hostname: spec.hostname,
      ownershipTag: ctx.input.ownershipTag,
    };
    // Created with its network and features already, so that configure finds nothing to change.
    const { set } = desiredConfig(spec, {});
    const created =
      "template" in spec.source
        ? await ctx.agent.createContainer(
            {
              ...common,
              template: spec.source.template,
              cores: spec.resources.cores,
              memoryMb: spec.resources.memory_mb,
              swapMb: spec.resources.swap_mb,
              diskGb: spec.resources.disk_gb,
              storage: spec.resources.storage,
              unprivileged: spec.security.unprivileged,
              net0: set.net0,
              features: set.features ?? "",
              tags: ["lockstep"],
              start: false,
            },
            { timeoutMs: 30 * 60_000 },
          )
        : await ctx.agent.cloneContainer(
            {
              ...common,
              sourceVmid: spec.source.clone.vmid,
              snapshot: spec.source.clone.snapshot ?? "",
              full: spec.source.clone.full,
              storage: spec.source.clone.full ? spec.resources.storage : "",
            },
            { timeoutMs: 30 * 60_000 },
          );
    ctx.createdByThisJob = !created.alreadyExisted;
    if (created.alreadyExisted) return alreadyDone(`CT ${vmid} is on the node and carries this record's marker`);
    return changed(
      "template" in spec.source
        ? `created CT ${vmid} from ${spec.source.template}`
        : `cloned CT ${spec.source.clone.vmid} to CT ${vmid}`,
    );
  },
};
