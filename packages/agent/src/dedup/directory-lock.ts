import { spawnSync } from "node:child_process";
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { LockstepError } from "@lockstep/shared";

/**
 * An exclusive flock(2) on a lock file, so that two agent processes never append to one
 * request log. Node has no flock binding, so util-linux `flock -n 3` is run on an inherited
 * descriptor: the child locks the open file description this process holds, and the lock
 * lives until this process closes it or dies (the kernel releases it even after SIGKILL,
 * so a crashed agent never leaves a stale lock behind). The holder's PID is written into
 * the file for the operator.
 */
export class DirectoryLock {
  private constructor(
    readonly lockPath: string,
    private fd: number | undefined,
  ) {}

  /** Takes the lock or throws UNAVAILABLE naming the holder; never waits. */
  static acquire(lockPath: string, flockPath = "/usr/bin/flock"): DirectoryLock {
    const fd = openSync(lockPath, "a", 0o600);
    const result = spawnSync(flockPath, ["-n", "3"], { stdio: ["ignore", "ignore", "ignore", fd] });
    if (result.status !== 0) {
      closeSync(fd);
      // `flock -n` exits 1 when another description holds the lock; anything else is a fault.
      if (result.status === 1) throw heldError(lockPath);
      const why = result.error?.message ?? `exited with ${result.status ?? result.signal}`;
      throw new LockstepError("INTERNAL", `cannot lock ${lockPath} with ${flockPath}: ${why}`, { path: lockPath }, { cause: result.error });
    }
    // Opened with O_APPEND: after the truncation the PID lands at offset 0.
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`);
    return new DirectoryLock(lockPath, fd);
  }

  /** Releases the lock (closing the descriptor drops it). Idempotent. */
  release(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

function heldError(lockPath: string): LockstepError {
  const holder = readHolder(lockPath);
  return new LockstepError("UNAVAILABLE", `${lockPath} is locked by another agent process${holder ? ` (pid ${holder})` : ""}; only one agent may use a request store`, {
    path: lockPath,
    ...(holder ? { holder_pid: holder } : {}),
  });
}

function readHolder(lockPath: string): string | undefined {
  try {
    const pid = readFileSync(lockPath, "utf8").trim();
    return /^\d+$/.test(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}
