import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { LockHeldError } from "../errors.js";
import { lockFilePath, type NodePaths } from "./node-paths.js";

/** Proxmox's `lock_config` timeout: the wait `pct set` would have for the same lock. */
export const CONFIG_LOCK_TIMEOUT_S = 10;

/**
 * Runs `work` holding the container's config flock (`pve-config-<vmid>.lock`), the lock every
 * Proxmox writer of the config takes. Node has no flock binding: util-linux `flock -w` locks
 * its fd 3, which is OUR open file description, so the lock is this process's until the
 * descriptor is closed, whatever happens to the flock process. The wait runs in a child, so
 * the event loop never blocks on it. LOCK_HELD when the lock stays busy past `timeoutS`.
 */
export async function withConfigFlock<T>(paths: NodePaths, vmid: number, work: () => Promise<T>, timeoutS = CONFIG_LOCK_TIMEOUT_S): Promise<T> {
  const file = lockFilePath(paths, vmid);
  // Opened for append and created 0644, as Proxmox's lock_file_full does; never deleted.
  const fd = openSync(file, "a", 0o644);
  try {
    const status = await new Promise<number | null>((resolve, reject) => {
      const child = spawn("flock", ["-w", String(timeoutS), "3"], { stdio: ["ignore", "ignore", "ignore", fd] });
      child.on("error", reject);
      child.on("exit", (code) => resolve(code));
    });
    // flock -w exits 1 on timeout; anything else is a fault of its own.
    if (status === 1) throw new LockHeldError(vmid, `can't lock file '${file}' - got timeout after ${timeoutS} s`);
    if (status !== 0) throw new Error(`flock on ${file} failed with status ${status}`);
    return await work();
  } finally {
    closeSync(fd);
  }
}
