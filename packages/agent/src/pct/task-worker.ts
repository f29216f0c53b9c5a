import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Clock } from "@lockstep/shared";
import type { ProcReader } from "../proc/proc-reader.js";

/**
 * A Proxmox task worker: the process `PVE::RESTEnvironment::fork_worker` (pve-common
 * src/PVE/RESTEnvironment.pm) forks for create, destroy, start, stop, snapshot, clone...
 * Its UPID names its own pid and start time (field 22 of /proc/<pid>/stat), which together
 * identify it across pid reuse.
 */
export interface TaskWorker {
  readonly upid: string;
  readonly pid: number;
  readonly pstart: number;
  /** The UPID's task type (`vzcreate`, `vzdestroy`, `vzsnapshot`, `vzclone`, `vzdump`...). */
  readonly type: string;
  /** The UPID's id field: the VMID, the SOURCE VMID for `vzclone`, empty for a multi-guest vzdump. */
  readonly id: string;
  /** When the task started (Unix seconds): fork_worker's `$starttime`. */
  readonly startS: number;
}

// pve-common src/PVE/UPID.pm (PVE::Tools::upid_encode):
// UPID:<node>:<pid hex8>:<pstart hex8>:<starttime hex8>:<type>:<id>:<user>:
const UPID = /^UPID:[^:]+:([0-9A-F]{8}):([0-9A-F]{8}):([0-9A-F]{8}):([^:]+):([^:]*):([^:]+):$/;

/** Parses a UPID; null for anything else. */
export function parseUpid(upid: string): TaskWorker | null {
  const m = UPID.exec(upid);
  if (!m) return null;
  return { upid, pid: parseInt(m[1]!, 16), pstart: parseInt(m[2]!, 16), startS: parseInt(m[3]!, 16), type: m[4]!, id: m[5]! };
}

/**
 * The task workers among the descendants of `rootPid` (a `pct` the agent started). A worker
 * is recognised as fork_worker makes it: `$0 = "task $upid"` (its cmdline), `POSIX::setsid()`
 * (its session id is its own pid), and a UPID naming its own pid and start time. Read while
 * `rootPid` lives: once it dies, the worker is re-parented and no longer traceable to it.
 */
export function taskWorkersUnder(proc: ProcReader, rootPid: number): TaskWorker[] {
  const children = new Map<number, number[]>();
  const infos = proc.pids().flatMap((pid) => {
    const info = proc.process(pid);
    return info ? [info] : [];
  });
  for (const info of infos) children.set(info.ppid, [...(children.get(info.ppid) ?? []), info.pid]);
  const descendants = new Set<number>();
  const queue = [...(children.get(rootPid) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (descendants.has(pid)) continue;
    descendants.add(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return infos.flatMap((info) => {
    if (!descendants.has(info.pid) || info.session !== info.pid) return [];
    const worker = info.cmdline.startsWith("task ") ? parseUpid(info.cmdline.slice("task ".length).trim()) : null;
    return worker && worker.pid === info.pid && worker.pstart === info.startTicks ? [worker] : [];
  });
}

/** Whether the worker still runs: its pid lives with the same start time and is not a zombie. */
export function isWorkerAlive(proc: ProcReader, worker: Pick<TaskWorker, "pid" | "pstart">): boolean {
  const info = proc.process(worker.pid);
  return info !== null && info.startTicks === worker.pstart && info.state !== "Z";
}

/** Resolves once none of `workers` runs any more, checking every `pollMs`. */
export async function whenWorkersEnd(proc: ProcReader, workers: readonly TaskWorker[], clock: Clock, pollMs: number): Promise<void> {
  while (workers.some((worker) => isWorkerAlive(proc, worker))) await clock.sleep(pollMs);
}

/**
 * Every task worker running on the node now: the running lines of Proxmox's active task list
 * (`<UPID> <0|1>`; a finished task's line has its end time and status too), plus processes
 * that are task workers by their cmdline and session (a killed `pct` never rewrote the list),
 * each checked alive by pid and start time. For the agent's boot: work it did not start in
 * this life may still run, and its VMIDs must wait for it.
 */
export function liveTaskWorkers(activeFile: string, proc: ProcReader): TaskWorker[] {
  const found = new Map<string, TaskWorker>();
  for (const line of readActiveList(activeFile).split("\n")) {
    const fields = line.trim().split(/\s+/);
    const worker = fields.length === 2 ? parseUpid(fields[0]!) : null;
    if (worker) found.set(worker.upid, worker);
  }
  const tasksDir = path.dirname(activeFile);
  for (const pid of proc.pids()) {
    const info = proc.process(pid);
    if (!info || info.session !== pid || !info.cmdline.startsWith("task ")) continue;
    const worker = parseUpid(info.cmdline.slice("task ".length).trim());
    if (worker && worker.pid === pid && hasTaskLog(tasksDir, worker.upid)) found.set(worker.upid, worker);
  }
  return [...found.values()].filter((worker) => isWorkerAlive(proc, worker));
}

/**
 * Whether this node's task log holds `upid`: `pct` opens it right after the fork, before it
 * lets the worker run (pve-common RESTEnvironment.pm fork_worker, UPID.pm open_log:
 * `<tasks dir>/<last hex digit of the start time>/<UPID>`). A process with a task title whose
 * log is not here is not this node's task (another simulated node's on the same host).
 */
function hasTaskLog(tasksDir: string, upid: string): boolean {
  const starttime = upid.split(":")[4] ?? "";
  return existsSync(path.join(tasksDir, starttime.slice(-1), upid));
}

function readActiveList(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}
