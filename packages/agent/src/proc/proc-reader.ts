import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { readLinks } from "./read-links.js";

/** A process as /proc shows it. */
export interface ProcessInfo {
  readonly pid: number;
  readonly cmdline: string;
  readonly state: string;
  /** Field 4 of /proc/<pid>/stat: the parent (init or a subreaper once the parent died). */
  readonly ppid: number;
  /** Field 6: the session id; a Proxmox task worker calls setsid, so its session is its own pid. */
  readonly session: number;
  /** Field 22 of /proc/<pid>/stat, in clock ticks since boot. */
  readonly startTicks: number;
  readonly startedMs: number;
}

/**
 * One open descriptor of a process: where it points, and its fdinfo's `lock:` lines on demand.
 * On a Proxmox host /proc holds every container's processes (tens of thousands of fds), so a
 * scan reads the links of all and the fdinfo of only the few that point at its file.
 */
export interface ProcessFd {
  readonly fd: string;
  readonly target: string;
  /** Reads the fdinfo now; empty when the descriptor was closed meanwhile. */
  lockLines(): Promise<string[]>;
}

/**
 * The boundary to /proc, so lock logic is tested against a fake and the real thing alike.
 * Every read is asynchronous: reading another process's cmdline takes its memory map's lock,
 * which a process stuck in a hung FUSE fault holds, so no read of /proc runs on the event loop.
 */
export interface ProcReader {
  locks(): Promise<string>;
  pids(): Promise<number[]>;
  /** Where each fd points (its fdinfo is read only through `lockLines`). */
  fds(pid: number): Promise<ProcessFd[]>;
  process(pid: number): Promise<ProcessInfo | null>;
}

// USER_HZ is 100 on every Linux Proxmox runs on; reading it would need a subprocess (getconf).
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * /proc (or a copy of its layout rooted elsewhere). Vanished processes are skipped, never
 * errors. The boot time is read once, when the reader is made (at the agent's start).
 */
export function realProcReader(root = "/proc"): ProcReader {
  const bootMs = Number(/^btime (\d+)$/m.exec(readFileSync(path.join(root, "stat"), "utf8"))?.[1] ?? 0) * 1000;
  return {
    locks: () => readFile(path.join(root, "locks"), "utf8"),
    pids: async () => (await readdir(root)).filter((name) => /^\d+$/.test(name)).map(Number),
    async fds(pid) {
      const fdDir = path.join(root, String(pid), "fd");
      let fds: string[];
      try {
        fds = await readdir(fdDir);
      } catch {
        return [];
      }
      const targets = await readLinks(fdDir, fds, FD_LINKS_IN_FLIGHT);
      return fds.flatMap((fd, i) => (targets[i] === null ? [] : [openFd(root, pid, fd, targets[i]!)]));
    },
    async process(pid) {
      try {
        const stat = await readFile(path.join(root, String(pid), "stat"), "utf8");
        // comm may hold spaces and parentheses: fields start after the LAST ')'.
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const startTicks = Number(fields[19]);
        const cmdline = (await readFile(path.join(root, String(pid), "cmdline"), "utf8")).split("\0").filter(Boolean).join(" ");
        return { pid, cmdline, state: fields[0] ?? "?", ppid: Number(fields[1]), session: Number(fields[3]), startTicks, startedMs: bootMs + (startTicks * 1000) / CLOCK_TICKS_PER_SECOND };
      } catch {
        return null;
      }
    },
  };
}

// A process with thousands of fds queues a bounded number of reads, not all of them at once.
const FD_LINKS_IN_FLIGHT = 16;

// A descriptor closed between the listing and its link's read was skipped; one closed before
// its fdinfo's read has no lock lines. The link is read, not stat'ed: readlink resolves the
// kernel's dentry without calling the file system, where a stat of an fd on a hung FUSE mount
// (pmxcfs) would wait for it.
function openFd(root: string, pid: number, fd: string, target: string): ProcessFd {
  const lockLines = async (): Promise<string[]> => {
    try {
      const info = await readFile(path.join(root, String(pid), "fdinfo", fd), "utf8");
      return info.split("\n").filter((l) => l.startsWith("lock:"));
    } catch {
      return [];
    }
  };
  return { fd, target, lockLines };
}
