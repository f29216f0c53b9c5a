import type { NodeContext } from "../node/node-context.js";
import { requireVmid } from "../node/require-valid.js";
import { runMutation } from "../pct/pct-mutation.js";
import { readStatus } from "./container-reader.js";

export type PowerState = "running" | "stopped";

/**
 * Brings a container to `target`: nothing to do when it is there already (`changed: false`),
 * so a retried start or stop never fails on "already running".
 */
export async function setPower(ctx: NodeContext, vmid: number, target: PowerState, requestId: string): Promise<{ status: PowerState; changed: boolean }> {
  requireVmid(vmid);
  if ((await readStatus(ctx, vmid)) === target) return { status: target, changed: false };
  await runMutation(ctx, vmid, [target === "running" ? "start" : "stop", String(vmid)], { requestId, timeoutMs: ctx.timeouts.powerMs });
  return { status: await readStatus(ctx, vmid), changed: true };
}
