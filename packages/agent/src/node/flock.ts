import { spawn } from "node:child_process";
import { open, type FileHandle } from "node:fs/promises";
import { LockstepError } from "@lockstep/shared";

/** util-linux flock(1), found through PATH as Debian installs it. */
export const FLOCK_BIN = "flock";

/** How long to wait for the lock: `0` tries once and never waits. */
export interface FlockOptions {
  readonly waitS: number;
  /** The flock(1) executable (tests inject a broken one). */
  readonly flockBin?: string;
}

/** How a lock file is opened: append, created with `mode` (Proxmox's lock_file_full: `>>`, 0644). */
export interface FlockFileOptions extends FlockOptions {
  readonly mode: number;
}

/**
 * Takes an exclusive flock(2) on the open file description behind `fd`. Node has no flock
 * binding, so util-linux `flock` locks its inherited fd 3: that is OUR open file description,
 * so the lock is this process's until the descriptor is closed, whatever becomes of the flock
 * process, and the kernel drops it when this process dies (even by SIGKILL). The wait happens
 * in that child, never on the event loop. True when locked, false when still busy after
 * `waitS` seconds (flock exits 1); any other end is an INTERNAL error naming why.
 */
async function flockDescriptor(fd: number, options: FlockOptions): Promise<boolean> {
  const bin = options.flockBin ?? FLOCK_BIN;
  const args = options.waitS > 0 ? ["-w", String(options.waitS), "3"] : ["-n", "3"];
  const status = await new Promise<number | string>((resolve) => {
    const child = spawn(bin, args, { stdio: ["ignore", "ignore", "ignore", fd] });
    child.on("error", (err) => resolve(err.message));
    child.on("exit", (code, signal) => resolve(code ?? `killed by ${signal}`));
  });
  if (status === 0) return true;
  if (status === 1) return false;
  throw new LockstepError(
    "INTERNAL",
    `flock on descriptor ${fd} with ${bin} failed: ${typeof status === "number" ? `exit status ${status}` : status}`,
  );
}

/** An exclusive flock held on an open lock file; released by closing the file. */
export class HeldFlock {
  private constructor(
    readonly file: string,
    private handle: FileHandle | undefined,
  ) {}

  /**
   * Opens `file` for append (creating it with `mode`; lock files are never deleted by their
   * lockers) and locks it. Null when the lock stays busy for `waitS` seconds.
   */
  static async acquire(file: string, options: FlockFileOptions): Promise<HeldFlock | null> {
    const handle = await open(file, "a", options.mode);
    try {
      if (await flockDescriptor(handle.fd, options)) return new HeldFlock(file, handle);
    } catch (err) {
      await handle.close();
      throw err;
    }
    await handle.close();
    return null;
  }

  /** Replaces the file's content while holding the lock (e.g. the holder's PID, for the operator). */
  async replaceContent(text: string): Promise<void> {
    if (!this.handle) throw new LockstepError("INTERNAL", `the flock on ${this.file} was released`);
    // Opened for append: after the truncation the text lands at offset 0.
    await this.handle.truncate(0);
    await this.handle.write(text);
  }

  /** Drops the lock by closing the file. Idempotent. */
  async release(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}
