import { LockHeldError } from "../errors.js";
import { HeldFlock } from "./flock.js";
import { lockFilePath, type NodePaths } from "./node-paths.js";

/** Proxmox's `lock_config` timeout: the wait `pct set` would have for the same lock. */
const CONFIG_LOCK_TIMEOUT_S = 10;

/**
 * Runs `work` holding the container's config flock (`pve-config-<vmid>.lock`), the lock every
 * Proxmox writer of the config takes (node/flock.ts: the wait never blocks the event loop).
 * LOCK_HELD when the lock stays busy past `timeoutS`, with Proxmox's own text (pve-common
 * src/PVE/Tools.pm lock_file_full: `can't lock file '<path>' - got timeout`).
 */
export async function withConfigFlock<T>(
  paths: NodePaths,
  vmid: number,
  work: () => Promise<T>,
  timeoutS = CONFIG_LOCK_TIMEOUT_S,
): Promise<T> {
  const file = lockFilePath(paths, vmid);
  // Opened for append and created 0644, as Proxmox's lock_file_full does; never deleted.
  const lock = await HeldFlock.acquire(file, { waitS: timeoutS, mode: 0o644 });
  if (!lock) throw new LockHeldError(vmid, `can't lock file '${file}' - got timeout after ${timeoutS} s`);
  try {
    return await work();
  } finally {
    await lock.release();
  }
}
