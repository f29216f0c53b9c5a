import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import path from "node:path";

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

/** The boundary to /proc, so lock logic is tested against a fake and the real thing alike. */
export interface ProcReader {
  locks(): string;
  pids(): number[];
  /** The `lock:` lines of each fd's fdinfo, and where each fd points. */
  fds(pid: number): { fd: string; target: string; lockLines: string[] }[];
  process(pid: number): ProcessInfo | null;
}

// USER_HZ is 100 on every Linux Proxmox runs on; reading it would need a subprocess (getconf).
const CLOCK_TICKS_PER_SECOND = 100;

/** /proc (or a copy of its layout rooted elsewhere). Vanished processes are skipped, never errors. */
export function realProcReader(root = "/proc"): ProcReader {
  const bootMs = Number(/^btime (\d+)$/m.exec(readFileSync(path.join(root, "stat"), "utf8"))?.[1] ?? 0) * 1000;
  return {
    locks: () => readFileSync(path.join(root, "locks"), "utf8"),
    pids: () => readdirSync(root).filter((name) => /^\d+$/.test(name)).map(Number),
    fds(pid) {
      const fdDir = path.join(root, String(pid), "fd");
      let fds: string[];
      try {
        fds = readdirSync(fdDir);
      } catch {
        return [];
      }
      return fds.flatMap((fd) => {
        try {
          const info = readFileSync(path.join(root, String(pid), "fdinfo", fd), "utf8");
          return [{ fd, target: readlinkSync(path.join(fdDir, fd)), lockLines: info.split("\n").filter((l) => l.startsWith("lock:")) }];
        } catch {
          return [];
        }
      });
    },
    process(pid) {
      try {
        const stat = readFileSync(path.join(root, String(pid), "stat"), "utf8");
        // comm may hold spaces and parentheses: fields start after the LAST ')'.
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const startTicks = Number(fields[19]);
        const cmdline = readFileSync(path.join(root, String(pid), "cmdline"), "utf8").split("\0").filter(Boolean).join(" ");
        return { pid, cmdline, state: fields[0] ?? "?", ppid: Number(fields[1]), session: Number(fields[3]), startTicks, startedMs: bootMs + (startTicks * 1000) / CLOCK_TICKS_PER_SECOND };
      } catch {
        return null;
      }
    },
  };
}
