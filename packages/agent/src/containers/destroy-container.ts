import { NotFoundError } from "../errors.js";
import type { NodeContext } from "../node/node-context.js";
import { requireVmid } from "../node/require-valid.js";
import { runMutation } from "../pct/pct-mutation.js";
import { readConfigFile } from "./container-reader.js";

/**
 * Destroys a container. Already gone is success (`alreadyGone`), so a retry after a lost
 * reply converges. Never called because a node was unresponsive: only on request.
 */
export async function destroyContainer(ctx: NodeContext, vmid: number, options: { force: boolean; purge: boolean }, requestId: string): Promise<{ alreadyGone: boolean }> {
  requireVmid(vmid);
  if (!(await readConfigFile(ctx, vmid))) return { alreadyGone: true };
  const args = ["destroy", String(vmid)];
  if (options.force) args.push("--force", "1");
  if (options.purge) args.push("--purge", "1");
  try {
    await runMutation(ctx, vmid, args, { requestId, timeoutMs: ctx.timeouts.destroyMs });
    return { alreadyGone: false };
  } catch (err) {
    if (err instanceof NotFoundError) return { alreadyGone: true };
    throw err;
  }
}
