import { realpath } from "node:fs/promises";
import { parseProcLocks, type KernelLock } from "../proc/proc-locks.js";
import { mapBounded } from "../proc/map-bounded.js";
import type { ProcessInfo, ProcReader } from "../proc/proc-reader.js";

/** A file as /proc/locks names it: device numbers and inode. */
export interface FileId {
  readonly major: number;
  readonly minor: number;
  readonly inode: number;
}

/** Whether a kernel lock is on this file. */
export function sameFile(lock: Pick<KernelLock, "major" | "minor" | "inode">, id: FileId): boolean {
  return lock.major === id.major && lock.minor === id.minor && lock.inode === id.inode;
}

/**
 * Live processes sharing the open file description that holds a FLOCK on `file` (device and
 * inode `id`): the PID /proc/locks records can be dead while a child holds the lock through
 * an inherited descriptor, and any process may share it (fork, SCM_RIGHTS), so every process
 * is looked at. Cheapest first: each fd's link (one readlink); the fdinfo only of fds whose
 * link is the file; the process's stat and cmdline only when its fdinfo shows the FLOCK. A
 * holder is found by the path the agent uses (or its real path): /run/lock is never bind-mounted
 * elsewhere on a Proxmox node.
 */
export async function flockHolders(proc: ProcReader, file: string, id: FileId): Promise<ProcessInfo[]> {
  const targets = new Set([file, await realpath(file).catch(() => file)]);
  const found = await mapBounded(await proc.pids(), PROCESSES_IN_FLIGHT, async (pid) => {
    const onFile = (await proc.fds(pid)).filter((fd) => targets.has(fd.target));
    if (onFile.length === 0) return null;
    const lockLines = (await Promise.all(onFile.map((fd) => fd.lockLines()))).flat();
    if (!lockLines.some((line) => isFlockOn(line, id))) return null;
    const info = await proc.process(pid);
    return info && info.state !== "Z" ? info : null;
  });
  return found.filter((info): info is ProcessInfo => info !== null);
}

// Enough /proc reads in flight to keep libuv's pool busy without queueing the whole host.
const PROCESSES_IN_FLIGHT = 16;

/** fdinfo `lock:` lines use the /proc/locks format (fs/locks.c lock_get_status). */
function isFlockOn(line: string, id: FileId): boolean {
  const lock = parseProcLocks(line.replace(/^lock:\s*/, ""))[0];
  return lock !== undefined && !lock.waiting && lock.kind === "FLOCK" && sameFile(lock, id);
}
