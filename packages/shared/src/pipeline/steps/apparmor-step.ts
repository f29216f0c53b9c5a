import type { PipelineContext } from "../pipeline-context.js";
import { alreadyDone, changed, type PipelineStep, type StepOutcome } from "../pipeline-step.js";

const PROFILE_KEY = "lxc.apparmor.profile";

/** Sets the declared AppArmor profile, or removes one so Proxmox's generated profile applies. */
export const apparmorStep: PipelineStep = {
  name: "apparmor",
  async run(ctx: PipelineContext): Promise<StepOutcome> {
    const profile = ctx.spec.security.apparmor_profile;
    const result = await ctx.agent.updateConfig(
      profile
        ? {
            requestId: ctx.requestId("apparmor"),
            vmid: ctx.vmid,
            ownershipTag: ctx.ownershipTag,
            lxc: { [PROFILE_KEY]: profile },
          }
        : {
            requestId: ctx.requestId("apparmor"),
            vmid: ctx.vmid,
            ownershipTag: ctx.ownershipTag,
            delete: [PROFILE_KEY],
          },
    );
    if (result.changedKeys.length === 0)
      return alreadyDone(profile ? `profile is ${profile}` : "Proxmox's generated profile applies");
    // A profile is loaded when the container starts.
    ctx.restartKeys.add(PROFILE_KEY);
    return changed(profile ? `profile set to ${profile}` : "custom profile removed");
  },
};
