import { createHash } from "node:crypto";
import { LockstepError } from "../../errors/lockstep-error.js";
import { LOCKSTEP_DIR } from "../../spec/check-spec.js";
import type { ContainerSpec } from "../../spec/container-spec.js";
import { describeRun, outputTail } from "../exec-output.js";
import { shortHash, type PipelineContext } from "../pipeline-context.js";
import { alreadyDone, changed, type PipelineStep, type StepOutcome } from "../pipeline-step.js";

type Script = NonNullable<ContainerSpec["script"]>;

const SCRIPT_PATH = `${LOCKSTEP_DIR}/app-script.sh`;
// The SHA-256 of the script that last ran to success, written only after it did.
const STAMP_PATH = `${LOCKSTEP_DIR}/app-script.done`;

/**
 * The application script runs once per distinct content: a stamp inside the container records
 * the last content that succeeded and the job that ran it. A run interrupted before its stamp
 * is replayed by the agent (same request ID in the same job), not run again; a stamp this
 * job wrote in an attempt whose answer was lost still counts as this job's change.
 */
export function scriptStep(script: Script): PipelineStep {
  const sha256 = createHash("sha256").update(script.content).digest("hex");
  return {
    name: "script",
    async run(ctx: PipelineContext): Promise<StepOutcome> {
      const job = shortHash(ctx.requestId());
      const stamp = await ctx.agent.exec({
        requestId: ctx.probeId("script", "stamp"),
        vmid: ctx.vmid,
        ownershipTag: ctx.ownershipTag,
        argv: ["cat", STAMP_PATH],
        timeoutMs: 30_000,
      });
      // A stamp is `<sha256> <job>`; one written before the job was recorded is `<sha256>`.
      const [doneSha256, doneBy] = stamp.exitCode === 0 ? outputTail(stamp.stdout).trim().split(/\s+/) : [];
      if (doneSha256 === sha256)
        return doneBy === job
          ? changed("ran in an earlier attempt of this job")
          : alreadyDone("this script already ran to success");
      await ctx.agent.pushFile({
        requestId: ctx.requestId("script", "push"),
        vmid: ctx.vmid,
        ownershipTag: ctx.ownershipTag,
        path: SCRIPT_PATH,
        content: Buffer.from(script.content, "utf8"),
        mode: 0o700,
      });
      const run = await ctx.agent.exec(
        {
          requestId: ctx.requestId("script", "run"),
          vmid: ctx.vmid,
          ownershipTag: ctx.ownershipTag,
          argv: ["/bin/sh", SCRIPT_PATH],
          timeoutMs: script.timeout_ms,
        },
        { timeoutMs: script.timeout_ms + 30_000 },
      );
      if (run.exitCode !== 0)
        throw new LockstepError("COMMAND_FAILED", `application script: ${describeRun("failed", run)}`);
      await ctx.agent.pushFile({
        requestId: ctx.requestId("script", "stamp"),
        vmid: ctx.vmid,
        ownershipTag: ctx.ownershipTag,
        path: STAMP_PATH,
        content: Buffer.from(`${sha256} ${job}\n`, "utf8"),
        mode: 0o600,
      });
      return changed(`ran in ${run.durationMs} ms`);
    },
  };
}
