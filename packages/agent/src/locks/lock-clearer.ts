import { unlink } from "node:fs/promises";
import path from "node:path";
import { FailedPreconditionError, LockHeldError } from "../errors.js";
import type { ClusterFs } from "../node/cluster-fs.js";
import { HeldFlock } from "../node/flock.js";
import type { OperationScope } from "../pct/operation-scope.js";
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

/** What a manual clear needs. */
export interface ClearDeps {
  readonly inspector: LockInspector;
  readonly guard: LockGuard;
  readonly proc: ProcReader;
  readonly clusterFs: Pick<ClusterFs, "requireTrusted">;
}

/**
 * The manual clear behind `lock clear`: a STALE lock only, never a HELD one, and nothing at
 * all while /etc/pve is not trusted (its `lock:` value could not be read truly).
 */
export async function clearLock(
  deps: ClearDeps,
  vmid: number,
  removeFile: boolean,
  op: OperationScope,
): Promise<ClearOutcome> {
  await deps.clusterFs.requireTrusted(`clear the lock of CT ${vmid}`);
  const before = await deps.inspector.inspect(vmid);
  if (before.verdict === "HELD")
    throw new LockHeldError(vmid, `CT ${vmid} is locked and will not be cleared: ${describeHolder(before)}`);
  const cleared = before.verdict === "STALE" && (await deps.guard.clearStale(before, op));
  const fileRemoved = removeFile && before.fileExists ? await removeLockFile(before.path, deps.proc) : false;
  return { cleared, previousLock: before.configLock, fileRemoved, report: await deps.inspector.inspect(vmid) };
}

/**
 * Deletes a lock file only while this process holds its flock and no other process has it
 * open. Deleting a file that another process has open (or is about to lock) breaks mutual
 * exclusion: the next locker creates a new inode while the old one is still held.
 */
async function removeLockFile(file: string, proc: ProcReader): Promise<boolean> {
  const lock = await HeldFlock.acquire(file, { waitS: 0, mode: 0o644 });
  if (!lock) throw new FailedPreconditionError(`${file} is locked by another process; it is not removed`);
  try {
    const others = [
      ...new Set(
        (await proc.openIn([path.dirname(file)]))
          .filter((f) => f.target === file && f.pid !== process.pid)
          .map((f) => f.pid),
      ),
    ];
    if (others.length > 0)
      throw new FailedPreconditionError(`${file} is open in pid ${others.join(", ")}; it is not removed`);
    await unlink(file);
    return true;
  } finally {
    await lock.release();
  }
}
