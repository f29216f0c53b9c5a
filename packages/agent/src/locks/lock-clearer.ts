import { spawnSync } from "node:child_process";
import { closeSync, openSync, unlinkSync } from "node:fs";
import { FailedPreconditionError, LockHeldError } from "../errors.js";
import type { ProcReader } from "../proc/proc-reader.js";
import type { LockGuard } from "./lock-guard.js";
import type { LockInspector } from "./lock-inspector.js";
import { describeHolder, type LockReportView } from "./lock-report.js";

export interface ClearOutcome {
  readonly cleared: boolean;
  readonly previousLock: string;
  readonly fileRemoved: boolean;
  readonly report: LockReportView;
}

/** The manual clear behind `lock clear`: a STALE lock only, never a HELD one. */
export async function clearLock(inspector: LockInspector, guard: LockGuard, proc: ProcReader, vmid: number, removeFile: boolean, requestId: string): Promise<ClearOutcome> {
  const before = inspector.inspect(vmid);
  if (before.verdict === "HELD") throw new LockHeldError(vmid, `CT ${vmid} is locked and will not be cleared: ${describeHolder(before)}`);
  const cleared = before.verdict === "STALE" && (await guard.clearStale(before, requestId));
  const fileRemoved = removeFile && before.fileExists ? removeLockFile(before.path, proc) : false;
  return { cleared, previousLock: before.configLock, fileRemoved, report: inspector.inspect(vmid) };
}

/**
 * Deletes a lock file only while this process holds its flock and no other process has it
 * open. Deleting a file that another process has open (or is about to lock) breaks mutual
 * exclusion: the next locker creates a new inode while the old one is still held.
 */
function removeLockFile(file: string, proc: ProcReader): boolean {
  const fd = openSync(file, "a");
  try {
    // flock(1) locks its fd 3, our own open file description: the lock is ours until we close it.
    if (spawnSync("flock", ["-n", "3"], { stdio: ["ignore", "ignore", "ignore", fd] }).status !== 0) {
      throw new FailedPreconditionError(`${file} is locked by another process; it is not removed`);
    }
    const others = proc.pids().filter((pid) => pid !== process.pid && proc.fds(pid).some((f) => f.target === file));
    if (others.length > 0) throw new FailedPreconditionError(`${file} is open in pid ${others.join(", ")}; it is not removed`);
    unlinkSync(file);
    return true;
  } finally {
    closeSync(fd);
  }
}
