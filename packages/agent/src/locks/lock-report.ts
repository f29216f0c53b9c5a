import type { ProcessInfo } from "../proc/proc-reader.js";

export type LockVerdict = "FREE" | "HELD" | "STALE";

export interface ActiveTaskView {
  readonly upid: string;
  readonly type: string;
  readonly pid: number;
  readonly startedMs: number;
  readonly user: string;
}

/** Everything known about one container's config lock at one moment. */
export interface LockReportView {
  readonly node: string;
  readonly vmid: number;
  readonly path: string;
  readonly fileExists: boolean;
  readonly kernelLocked: boolean;
  readonly recordedPid: number;
  readonly recordedPidAlive: boolean;
  readonly holders: ProcessInfo[];
  readonly configLock: string;
  readonly activeTasks: ActiveTaskView[];
  readonly verdict: LockVerdict;
  readonly inspectedAtMs: number;
}

/** `held by pid 4242 (flock ... sleep 30) for 12s`: who, what and how long, for messages. */
export function describeHolder(report: LockReportView): string {
  const holder = [...report.holders].sort((a, b) => a.startedMs - b.startedMs)[0];
  if (holder) return `held by pid ${holder.pid} (${holder.cmdline || "?"}) for ${Math.max(0, Math.round((report.inspectedAtMs - holder.startedMs) / 1000))}s`;
  const task = report.activeTasks[0];
  if (task) return `held by task ${task.type} pid ${task.pid} (${task.upid}) for ${Math.max(0, Math.round((report.inspectedAtMs - task.startedMs) / 1000))}s`;
  if (report.kernelLocked) return `held by pid ${report.recordedPid} (no live process shares the lock)`;
  return `config lock '${report.configLock}' with no holder`;
}
