import { statSync } from "node:fs";
import path from "node:path";
import type { Clock } from "@lockstep/shared";
import { parseContainerConfig } from "../node/container-config.js";
import { lockFilePath, type NodePaths } from "../node/node-paths.js";
import { devToMajorMinor, parseProcLocks } from "../proc/proc-locks.js";
import type { ProcessInfo, ProcReader } from "../proc/proc-reader.js";
import { readFileSync } from "node:fs";
import { activeTasks } from "./active-tasks.js";
import type { LockReportView, LockVerdict } from "./lock-report.js";

/**
 * Reports who holds a container's config lock, from the kernel's view (/proc/locks by device
 * and inode) and from every process sharing the locked open file description (fdinfo
 * `lock:` lines), because the PID /proc/locks names can be dead when a child inherited the
 * descriptor. No lsof or fuser.
 */
export class LockInspector {
  constructor(private readonly node: string, private readonly paths: NodePaths, private readonly proc: ProcReader, private readonly clock: Clock) {}

  inspect(vmid: number): LockReportView {
    const file = lockFilePath(this.paths, vmid);
    const id = fileId(file);
    const granted = id ? parseProcLocks(this.proc.locks()).filter((l) => !l.waiting && l.major === id.major && l.minor === id.minor && l.inode === id.inode) : [];
    const recordedPid = granted[0]?.pid ?? 0;
    const holders = id && granted.length > 0 ? this.sharers(id) : [];
    const configLock = this.configLock(vmid);
    const tasks = activeTasks(this.paths.tasksActive, vmid, this.proc);
    const kernelLocked = granted.length > 0;
    const verdict: LockVerdict = kernelLocked || tasks.length > 0 ? "HELD" : configLock ? "STALE" : "FREE";
    return {
      node: this.node,
      vmid,
      path: file,
      fileExists: id !== null,
      kernelLocked,
      recordedPid,
      recordedPidAlive: recordedPid > 0 && this.proc.process(recordedPid) !== null,
      holders,
      configLock,
      activeTasks: tasks,
      verdict,
      inspectedAtMs: this.clock.now(),
    };
  }

  /** Live processes whose fdinfo shows a lock on this device and inode. */
  private sharers(id: { major: number; minor: number; inode: number }): ProcessInfo[] {
    const needle = `${hex2(id.major)}:${hex2(id.minor)}:${id.inode}`;
    const found: ProcessInfo[] = [];
    for (const pid of this.proc.pids()) {
      if (!this.proc.fds(pid).some((fd) => fd.lockLines.some((l) => lockLineNames(l, needle)))) continue;
      const info = this.proc.process(pid);
      if (info && info.state !== "Z") found.push(info);
    }
    return found;
  }

  private configLock(vmid: number): string {
    try {
      return parseContainerConfig(readFileSync(path.join(this.paths.configDir, `${vmid}.conf`), "utf8")).main.values.lock ?? "";
    } catch {
      return "";
    }
  }
}

function fileId(file: string): { major: number; minor: number; inode: number } | null {
  try {
    const st = statSync(file, { bigint: true });
    return { ...devToMajorMinor(st.dev), inode: Number(st.ino) };
  } catch {
    return null;
  }
}

const hex2 = (n: number): string => n.toString(16).padStart(2, "0");

/** fdinfo `lock:` lines use the /proc/locks format; device fields compare as numbers. */
function lockLineNames(line: string, needle: string): boolean {
  const m = /\s([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
  if (!m) return false;
  return `${hex2(parseInt(m[1]!, 16))}:${hex2(parseInt(m[2]!, 16))}:${m[3]}` === needle && !/->/.test(line);
}
