import type { ContainerSpec } from "../../spec/container-spec.js";
import { shortHash, type PipelineContext } from "../pipeline-context.js";
import { alreadyDone, changed, type PipelineStep, type StepOutcome } from "../pipeline-step.js";

type ServiceEntry = ContainerSpec["services"][number];

/** A declared systemd unit, through the agent's EnsureService (verified push, reload, enable, start). */
export function serviceStep(service: ServiceEntry): PipelineStep {
  return {
    name: `service:${service.unit}`,
    async run(ctx: PipelineContext): Promise<StepOutcome> {
      const ensured = await ctx.agent.ensureService(
        {
          requestId: ctx.requestId("service", shortHash(service.unit)),
          vmid: ctx.vmid,
          ownershipTag: ctx.ownershipTag,
          unit: service.unit,
          unitContent: Buffer.from(service.content, "utf8"),
          enable: service.enable,
          start: service.start,
        },
        { timeoutMs: 5 * 60_000 },
      );
      const state = `${ensured.enabled ? "enabled" : "not enabled"}, ${ensured.active ? "active" : "inactive"}`;
      return ensured.changed ? changed(`${ensured.unitChanged ? "unit written; " : ""}${state}`) : alreadyDone(state);
    },
  };
}
