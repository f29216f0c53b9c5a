import type { KernelLock } from "../proc/proc-locks.js";
import type { ProcessInfo } from "../proc/proc-reader.js";

export type LockVerdict = "FREE" | "HELD" | "STALE";

/** What owns a lock, or why it cannot be called stale (see LockOwnerKind in agent.proto). */
export type LockOwnerKind = "NONE" | "FLOCK" | "TASK" | "GRACE" | "OPERATOR" | "UNKNOWN_VALUE";

export interface ActiveTaskView {
  readonly upid: string;
  readonly type: string;
  /** The UPID's id field: a VMID, or empty (a multi-guest vzdump). */
  readonly id: string;
  readonly pid: number;
  readonly startedMs: number;
  readonly user: string;
}

/** Proxmox's guest migration lock of one VMID and whoever holds its flock. */
export interface MigrationLockView {
  readonly path: string;
  readonly locked: boolean;
  readonly pid: number;
  readonly cmdline: string;
}

/** Everything known about one container's config lock at one moment. */
export interface LockReportView {
  readonly node: string;
  readonly vmid: number;
  readonly path: string;
  readonly fileExists: boolean;
  /** A FLOCK on the lock file: the only kernel lock `pct` waits for. */
  readonly kernelLocked: boolean;
  readonly recordedPid: number;
  readonly recordedPidAlive: boolean;
  readonly holders: ProcessInfo[];
  readonly configLock: string;
  /** Live tasks under this VMID and any other live task that may own `configLock`. */
  readonly activeTasks: ActiveTaskView[];
  readonly verdict: LockVerdict;
  readonly ownerKind: LockOwnerKind;
  /** The owner, or why there is none, in words. */
  readonly owner: string;
  /** Since when the lock has had no owner; 0 when it has one or none is set. */
  readonly unownedSinceMs: number;
  /** POSIX and OFD locks on the lock file: they do not block `pct`. */
  readonly otherKernelLocks: KernelLock[];
  readonly migrationLock: MigrationLockView;
  readonly inspectedAtMs: number;
}

/** `held by pid 4242 (flock ... sleep 30) for 12s`: who, what and how long, for messages. */
export function describeHolder(report: LockReportView): string {
  const holder = [...report.holders].sort((a, b) => a.startedMs - b.startedMs)[0];
  if (holder)
    return `held by pid ${holder.pid} (${holder.cmdline || "?"}) for ${seconds(report.inspectedAtMs - holder.startedMs)}s`;
  if (report.kernelLocked) return `held by pid ${report.recordedPid} (no live process shares the lock)`;
  if (report.ownerKind === "NONE" && report.configLock) return `config lock '${report.configLock}' with no holder`;
  const lock = report.configLock ? `config lock '${report.configLock}' ` : "";
  return `${lock}${report.owner}`;
}

function seconds(ms: number): number {
  return Math.max(0, Math.round(ms / 1000));
}
