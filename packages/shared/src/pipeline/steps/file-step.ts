import type { ContainerSpec } from "../../spec/container-spec.js";
import { shortHash, type PipelineContext } from "../pipeline-context.js";
import { alreadyDone, changed, type PipelineStep, type StepOutcome } from "../pipeline-step.js";

type FileEntry = ContainerSpec["files"][number];

/** A declared file, through the agent's verified push: unchanged content is not pushed again. */
export function fileStep(file: FileEntry): PipelineStep {
  return {
    name: `file:${file.path}`,
    async run(ctx: PipelineContext): Promise<StepOutcome> {
      const pushed = await ctx.agent.pushFile({
        requestId: ctx.requestId("file", shortHash(file.path)),
        vmid: ctx.vmid,
        ownershipTag: ctx.ownershipTag,
        path: file.path,
        content: Buffer.from(file.content, "utf8"),
        mode: parseInt(file.mode, 8),
        user: file.user ?? "",
        group: file.group ?? "",
      });
      return pushed.changed
        ? changed(`pushed ${pushed.size} bytes, sha256 ${pushed.sha256.slice(0, 12)} verified`)
        : alreadyDone("content already in place");
    },
  };
}
