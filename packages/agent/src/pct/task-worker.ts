import { access, readFile } from "node:fs/promises";
import path from "node:path";
import type { Clock } from "@lockstep/shared";
import { mapBounded } from "../proc/map-bounded.js";
import type { ProcessInfo, ProcReader } from "../proc/proc-reader.js";

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
  return {
    upid,
    pid: parseInt(m[1]!, 16),
    pstart: parseInt(m[2]!, 16),
    startS: parseInt(m[3]!, 16),
    type: m[4]!,
    id: m[5]!,
  };
}

/**
 * The task workers among the descendants of `rootPid` (a `pct` the agent started). A worker
 * is recognised as fork_worker makes it: `$0 = "task $upid"` (its cmdline), `POSIX::setsid()`
 * (its session id is its own pid), and a UPID naming its own pid and start time. Read while
 * `rootPid` lives: once it dies, the worker is re-parented and no longer traceable to it.
 */
export async function taskWorkersUnder(proc: ProcReader, rootPid: number): Promise<TaskWorker[]> {
  const children = new Map<number, number[]>();
  const infos = await allProcesses(proc);
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
export async function isWorkerAlive(proc: ProcReader, worker: Pick<TaskWorker, "pid" | "pstart">): Promise<boolean> {
  const info = await proc.process(worker.pid);
  return info !== null && info.startTicks === worker.pstart && info.state !== "Z";
}

/** Resolves once none of `workers` runs any more, checking every `pollMs`. */
export async function whenWorkersEnd(
  proc: ProcReader,
  workers: readonly TaskWorker[],
  clock: Clock,
  pollMs: number,
): Promise<void> {
  while ((await aliveWorkers(proc, workers)).length > 0) await clock.sleep(pollMs);
}

/** Those of `workers` that still run. */
export async function aliveWorkers(proc: ProcReader, workers: readonly TaskWorker[]): Promise<TaskWorker[]> {
  const alive = await Promise.all(workers.map((worker) => isWorkerAlive(proc, worker)));
  return workers.filter((_, i) => alive[i]);
}

/**
 * Every task worker running on the node now: the running lines of Proxmox's active task list
 * (`<UPID> <0|1>`; a finished task's line has its end time and status too), plus processes
 * that are task workers by their cmdline and session (a killed `pct` never rewrote the list),
 * each checked alive by pid and start time. For the agent's boot: work it did not start in
 * this life may still run, and its VMIDs must wait for it.
 */
export async function liveTaskWorkers(activeFile: string, proc: ProcReader): Promise<TaskWorker[]> {
  const found = new Map<string, TaskWorker>();
  for (const line of (await readActiveList(activeFile)).split("\n")) {
    const fields = line.trim().split(/\s+/);
    const worker = fields.length === 2 ? parseUpid(fields[0]!) : null;
    if (worker) found.set(worker.upid, worker);
  }
  const tasksDir = path.dirname(activeFile);
  for (const info of await allProcesses(proc)) {
    if (info.session !== info.pid || !info.cmdline.startsWith("task ")) continue;
    const worker = parseUpid(info.cmdline.slice("task ".length).trim());
    if (worker && worker.pid === info.pid && (await hasTaskLog(tasksDir, worker.upid))) found.set(worker.upid, worker);
  }
  return aliveWorkers(proc, [...found.values()]);
}

// Enough /proc reads in flight to keep libuv's pool busy without queueing the whole host.
const PROC_READS_IN_FLIGHT = 16;

/** Every process /proc shows now; those that vanished while it was read are skipped. */
async function allProcesses(proc: ProcReader): Promise<ProcessInfo[]> {
  const infos = await mapBounded(await proc.pids(), PROC_READS_IN_FLIGHT, (pid) => proc.process(pid));
  return infos.filter((info): info is ProcessInfo => info !== null);
}

/**
 * Whether this node's task log holds `upid`: `pct` opens it right after the fork, before it
 * lets the worker run (pve-common RESTEnvironment.pm fork_worker, UPID.pm open_log:
 * `<tasks dir>/<last hex digit of the start time>/<UPID>`). A process with a task title whose
 * log is not here is not this node's task (another simulated node's on the same host).
 */
async function hasTaskLog(tasksDir: string, upid: string): Promise<boolean> {
  const starttime = upid.split(":")[4] ?? "";
  return access(path.join(tasksDir, starttime.slice(-1), upid)).then(
    () => true,
    () => false,
  );
}

async function readActiveList(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch {
    return "";
  }
}
