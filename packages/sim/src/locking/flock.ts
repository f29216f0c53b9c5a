import { spawnSync } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { INTERRUPT_MESSAGE, interruptPending, watchingInterrupts } from "../tasks/interrupt.js";
import { writeOutput } from "../tasks/task-output.js";

/** The wait slice of a task worker's flock wait: how soon it notices an interrupt. */
const INTERRUPT_SLICE_S = 0.2;

/** Blocks the process for `ms` without a busy loop. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Tries to lock `fd` exclusively; waits up to `waitS` seconds (0: no wait). */
function flockFd(fd: number, waitS: number): boolean {
  // Node has no flock(2). util-linux flock(1) locks its fd 3, which is the SAME open file
  // description as ours: the lock then belongs to this process's descriptor and lasts until
  // this process closes it or dies, exactly like the flock Proxmox's Perl takes in-process.
  const args = waitS > 0 ? ["-w", String(waitS), "3"] : ["-n", "3"];
  const result = spawnSync("flock", args, { stdio: ["ignore", "ignore", "ignore", fd] });
  if (result.error) throw result.error;
  return result.status === 0;
}

/**
 * Waits up to `waitS` for the lock. In a task worker the wait is cut into slices, so that an
 * INT/QUIT/TERM interrupts it as it interrupts Perl's blocking flock(2) (EINTR, then the
 * handler's `die "received interrupt"`).
 */
function waitFlock(fd: number, waitS: number): boolean {
  if (!watchingInterrupts()) return flockFd(fd, waitS);
  for (const end = Date.now() + waitS * 1000; ;) {
    if (interruptPending()) throw new Error(INTERRUPT_MESSAGE);
    const left = (end - Date.now()) / 1000;
    if (left <= 0) return false;
    if (flockFd(fd, Math.min(left, INTERRUPT_SLICE_S))) return true;
  }
}

/** A held flock; `release` closes the descriptor, which drops the lock. */
export interface HeldLock {
  readonly fd: number;
  release(): void;
}

/**
 * Takes the lock as PVE::Tools::lock_file_full does: a non-blocking try, then, if busy,
 * `trying to acquire lock...` on stderr and a blocking wait up to `timeoutS`, ` OK` when it
 * succeeds. Returns null on timeout (the caller prints Proxmox's message). Never deletes the file.
 */
export function acquireFlock(file: string, timeoutS: number, announce: boolean): HeldLock | null {
  const fd = openSync(file, "a", 0o644);
  if (!flockFd(fd, 0)) {
    if (announce) writeOutput(2, "trying to acquire lock...");
    let got: boolean;
    try {
      got = waitFlock(fd, timeoutS);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    if (!got) {
      if (announce) writeOutput(2, "\n");
      closeSync(fd);
      return null;
    }
    if (announce) writeOutput(2, " OK\n");
  }
  let open = true;
  return {
    fd,
    release: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** Runs `fn` under a private lock of the simulator's own (state files, counters). */
export function withPrivateLock<T>(file: string, fn: () => T): T {
  const lock = acquireFlock(file, 30, false);
  if (!lock) throw new Error(`simulator: could not lock ${file} within 30 s`);
  try {
    return fn();
  } finally {
    lock.release();
  }
}
