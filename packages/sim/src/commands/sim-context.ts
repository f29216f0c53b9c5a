import type { ActiveFault } from "../faults/active-fault.js";
import { acquireFlock, type HeldLock } from "../locking/flock.js";
import { PctError } from "../node/pct-error.js";
import { lockPath } from "../node/sim-layout.js";
import { INTERRUPT_MESSAGE } from "../tasks/interrupt.js";
import type { SimNode } from "../node/sim-node.js";

/** What every subcommand works with. */
export interface SimContext {
  readonly node: SimNode;
  readonly fault: ActiveFault;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Takes the container's config flock (`/run/lock/lxc/pve-config-<vmid>.lock`) with
 * Proxmox's timeout (10 s, 5 s for create) and its exact message when that runs out.
 */
export function lockConfig(ctx: SimContext, vmid: number, timeoutS = 10): HeldLock {
  ctx.fault.at("before-lock");
  const file = `/run/lock/lxc/pve-config-${vmid}.lock`;
  let lock: HeldLock | null;
  try {
    lock = acquireFlock(lockPath(ctx.node.layout, vmid), ctx.node.lockTimeoutS ?? timeoutS, true);
  } catch (err) {
    // pve-common Tools.pm, lock_file_full: `$@ = "can't lock file '$filename' - $@"`.
    if ((err as Error).message === INTERRUPT_MESSAGE)
      throw new PctError(`can't lock file '${file}' - ${INTERRUPT_MESSAGE}`);
    throw err;
  }
  if (!lock) throw new PctError(`can't lock file '${file}' - got timeout`);
  return lock;
}

/** Runs `fn` holding the config flock. */
export function withConfigLock<T>(ctx: SimContext, vmid: number, fn: () => T, timeoutS = 10): T {
  const lock = lockConfig(ctx, vmid, timeoutS);
  try {
    return fn();
  } finally {
    lock.release();
  }
}
