import { readFile } from "node:fs/promises";
import { LockstepError } from "@lockstep/shared";
import { FLOCK_BIN, HeldFlock } from "../node/flock.js";

/**
 * An exclusive flock(2) on a lock file, so that two agent processes never append to one
 * request log (node/flock.ts: the kernel releases it even after SIGKILL, so a crashed agent
 * never leaves a stale lock behind). The holder's PID is written into the file for the
 * operator.
 */
export class DirectoryLock {
  private constructor(
    readonly lockPath: string,
    private readonly lock: HeldFlock,
  ) {}

  /** Takes the lock or throws UNAVAILABLE naming the holder; never waits. */
  static async acquire(lockPath: string, flockPath = FLOCK_BIN): Promise<DirectoryLock> {
    const lock = await HeldFlock.acquire(lockPath, { waitS: 0, mode: 0o600, flockBin: flockPath });
    if (!lock) throw await heldError(lockPath);
    await lock.replaceContent(`${process.pid}\n`);
    return new DirectoryLock(lockPath, lock);
  }

  /** Releases the lock (closing the descriptor drops it). Idempotent. */
  async release(): Promise<void> {
    await this.lock.release();
  }
}

async function heldError(lockPath: string): Promise<LockstepError> {
  const holder = await readHolder(lockPath);
  return new LockstepError(
    "UNAVAILABLE",
    `${lockPath} is locked by another agent process${holder ? ` (pid ${holder})` : ""}; only one agent may use a request store`,
    {
      path: lockPath,
      ...(holder ? { holder_pid: holder } : {}),
    },
  );
}

async function readHolder(lockPath: string): Promise<string | undefined> {
  try {
    const pid = (await readFile(lockPath, "utf8")).trim();
    return /^\d+$/.test(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}
