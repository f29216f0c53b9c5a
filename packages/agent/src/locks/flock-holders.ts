import { realpath } from "node:fs/promises";
import path from "node:path";
import { parseProcLocks, type KernelLock } from "../proc/proc-locks.js";
import type { OpenFd, ProcessInfo, ProcReader } from "../proc/proc-reader.js";

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
 * Finds the live processes sharing the open file description that holds a FLOCK on a lock
 * file. The PID /proc/locks records can be dead while a child holds the lock through an
 * inherited descriptor, and any process may share it (fork, SCM_RIGHTS), so every process's
 * fds are looked at, as fuser does: on a Proxmox host that is every container's process too.
 * Cheapest first: one readlink per fd, off the event loop (one pass over /proc, shared by
 * every inspection that starts while it runs, whatever its file in the same directory); the
 * fdinfo only of fds whose link is in that directory; stat and cmdline only of processes
 * whose fdinfo shows the FLOCK on the file's device and inode.
 * A descriptor is matched by the path the agent uses or its real path: /run/lock is not
 * bind-mounted elsewhere on a Proxmox node.
 */
export class FlockHolderScan {
  /** The pass over /proc under way, per directory: joined, never started twice at once. */
  private readonly passes = new Map<string, Promise<OpenFd[]>>();

  constructor(private readonly proc: ProcReader) {}

  /** Live, non-zombie processes with a descriptor on `file` whose fdinfo shows a FLOCK on `id`. */
  async holders(file: string, id: FileId): Promise<ProcessInfo[]> {
    const targets = new Set([file, await realpath(file).catch(() => file)]);
    const onFile = (await this.openIn([...new Set([...targets].map((t) => path.dirname(t)))])).filter((open) =>
      targets.has(open.target),
    );
    const pids = [...new Set(onFile.map((open) => open.pid))];
    const found = await Promise.all(
      pids.map((pid) =>
        this.holder(
          pid,
          onFile.filter((open) => open.pid === pid),
          id,
        ),
      ),
    );
    return found.filter((info): info is ProcessInfo => info !== null);
  }

  private async holder(pid: number, fds: readonly OpenFd[], id: FileId): Promise<ProcessInfo | null> {
    if (!fds.some((open) => open.lockLines.some((line) => isFlockOn(line, id)))) return null;
    const info = await this.proc.process(pid);
    return info && info.state !== "Z" ? info : null;
  }

  // A caller that joins a pass under way gets what that pass finds, as a pass of its own
  // would: the descriptors change while any pass runs, which the kernel gives no snapshot of.
  private openIn(dirs: readonly string[]): Promise<OpenFd[]> {
    const key = dirs.join("\0");
    const running = this.passes.get(key);
    if (running) return running;
    const pass = this.proc.openIn(dirs).finally(() => this.passes.delete(key));
    this.passes.set(key, pass);
    return pass;
  }
}

/** fdinfo `lock:` lines use the /proc/locks format (fs/locks.c lock_get_status). */
function isFlockOn(line: string, id: FileId): boolean {
  const lock = parseProcLocks(line.replace(/^lock:\s*/, ""))[0];
  return lock !== undefined && !lock.waiting && lock.kind === "FLOCK" && sameFile(lock, id);
}
