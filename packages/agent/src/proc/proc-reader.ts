import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { FdScanWorker, type OpenFd } from "./fd-scan-worker.js";

export type { OpenFd } from "./fd-scan-worker.js";

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
 * The boundary to /proc, so lock logic is tested against a fake and the real thing alike.
 * No read of /proc runs on the event loop: reading another process's cmdline takes its memory
 * map's lock, which a process stuck in a hung FUSE fault holds, and on a Proxmox host /proc
 * holds every container's processes (tens of thousands of fds).
 */
export interface ProcReader {
  locks(): Promise<string>;
  pids(): Promise<number[]>;
  /**
   * Every process's descriptors whose link is a file directly in one of `dirs`, with their
   * fdinfo `lock:` lines (read only for those): one pass over every fd link.
   */
  openIn(dirs: readonly string[]): Promise<OpenFd[]>;
  process(pid: number): Promise<ProcessInfo | null>;
}

// USER_HZ is 100 on every Linux Proxmox runs on; reading it would need a subprocess (getconf).
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * /proc (or a copy of its layout rooted elsewhere). Vanished processes are skipped, never
 * errors. The boot time is read once, when the reader is made (at the agent's start). The fd
 * links are read in one worker thread of the reader's own, started on the first `openIn`; a
 * pass that takes over `scanTimeoutMs` fails with HYPERVISOR_UNRESPONSIVE.
 */
export function realProcReader(root = "/proc", scanTimeoutMs = SCAN_TIMEOUT_MS): ProcReader {
  const scanner = new FdScanWorker(root, scanTimeoutMs);
  const bootMs = Number(/^btime (\d+)$/m.exec(readFileSync(path.join(root, "stat"), "utf8"))?.[1] ?? 0) * 1000;
  return {
    locks: () => readFile(path.join(root, "locks"), "utf8"),
    pids: async () => (await readdir(root)).filter((name) => /^\d+$/.test(name)).map(Number),
    openIn: (dirs) => scanner.scan(dirs),
    async process(pid) {
      try {
        const stat = await readFile(path.join(root, String(pid), "stat"), "utf8");
        // comm may hold spaces and parentheses: fields start after the LAST ')'.
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const startTicks = Number(fields[19]);
        const cmdline = (await readFile(path.join(root, String(pid), "cmdline"), "utf8"))
          .split("\0")
          .filter(Boolean)
          .join(" ");
        return {
          pid,
          cmdline,
          state: fields[0] ?? "?",
          ppid: Number(fields[1]),
          session: Number(fields[3]),
          startTicks,
          startedMs: bootMs + (startTicks * 1000) / CLOCK_TICKS_PER_SECOND,
        };
      } catch {
        return null;
      }
    },
  };
}

// A pass over 100,000 fds takes about a second; thirty leaves room for a loaded host and
// still fails an inspection before its callers give up.
const SCAN_TIMEOUT_MS = 30_000;
