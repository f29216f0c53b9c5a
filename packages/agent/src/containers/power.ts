import { HaRequestPendingError, PowerStateNotReachedError } from "../errors.js";
import type { NodeContext } from "../node/node-context.js";
import { requireVmid } from "../node/require-valid.js";
import type { OperationScope } from "../pct/operation-scope.js";
import { runMutation } from "../pct/pct-mutation.js";
import { readStatus } from "./container-reader.js";

export type PowerState = "running" | "stopped";

// pve-container src/PVE/API2/LXC/Status.pm, vm_start / vm_stop: for an HA-managed CT the task
// only prints this, asks ha-manager for the state and returns before the CT gets there.
const HA_REQUEST = /^Requesting HA (start|stop) for CT \d+$/m;
// The HA manager works in rounds of about ten seconds; the first looks come soon for the
// ordinary case, later ones spread out.
const FIRST_LOOK_MS = 250;
const MAX_LOOK_MS = 5_000;

/**
 * Brings a container to `target`: nothing to do when it is there already (`changed: false`),
 * so a retried start or stop never fails on "already running". After `pct` returns, waits
 * (with backoff on the injected clock, within the power timeout counted from the request)
 * until the container is in `target`, because an HA-managed container gets there only when
 * the HA manager acts; throws HaRequestPendingError (retryable) when it has not acted yet, and
 * PowerStateNotReachedError when a container without HA does not get there. `owner` is the
 * ownership tag the caller proved the container carries (require-owned.ts).
 */
export async function setPower(
  ctx: NodeContext,
  vmid: number,
  target: PowerState,
  op: OperationScope,
  owner: string,
): Promise<{ status: PowerState; changed: boolean }> {
  requireVmid(vmid);
  if ((await readStatus(ctx, vmid)) === target) return { status: target, changed: false };
  const startedMs = ctx.clock.now();
  const result = await runMutation(ctx, vmid, [target === "running" ? "start" : "stop", String(vmid)], {
    op,
    owner,
    timeoutMs: ctx.timeouts.powerMs,
  });
  await waitForState(ctx, vmid, target, startedMs, HA_REQUEST.test(result.stdout));
  return { status: target, changed: true };
}

async function waitForState(
  ctx: NodeContext,
  vmid: number,
  target: PowerState,
  startedMs: number,
  haManaged: boolean,
): Promise<void> {
  const deadline = startedMs + ctx.timeouts.powerMs;
  for (let delay = FIRST_LOOK_MS; ; delay = Math.min(delay * 2, MAX_LOOK_MS)) {
    const status = await readStatus(ctx, vmid);
    if (status === target) return;
    const now = ctx.clock.now();
    if (now >= deadline && haManaged) throw new HaRequestPendingError(vmid, target, status, now - startedMs);
    if (now >= deadline) throw new PowerStateNotReachedError(vmid, target, status, now - startedMs);
    await ctx.clock.sleep(Math.min(delay, deadline - now));
  }
}
