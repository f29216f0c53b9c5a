import { mkdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ManualClock, scratchDir, type TestScope } from "@lockstep/shared";
import { LockInspector } from "../../src/locks/lock-inspector.js";
import { lockFilePath, type NodePaths } from "../../src/node/node-paths.js";
import { devToMajorMinor } from "../../src/proc/proc-locks.js";
import type { ProcessInfo, ProcReader } from "../../src/proc/proc-reader.js";
import { fakeClusterFs } from "../node/fake-cluster-fs.js";

export const GRACE_MS = 30_000;

/**
 * A node in a temporary directory with real config and lock files, and a fake /proc whose
 * texts are in the kernel's own formats: /proc/locks lines and fdinfo `lock:` lines.
 */
export function lockNode(t: TestScope) {
  const root = scratchDir(t, "lock-node");
  const paths: NodePaths = {
    pct: "/bin/false",
    lockDir: path.join(root, "run/lock/lxc"),
    configDir: path.join(root, "etc/pve/lxc"),
    tasksActive: path.join(root, "var/log/pve/tasks/active"),
    pveDir: path.join(root, "etc/pve"),
    nodesDir: path.join(root, "etc/pve/nodes"),
    migrationLockDir: path.join(root, "var/lock/pve-manager"),
    procRoot: "/proc",
    pctEnv: {},
  };
  for (const dir of [paths.lockDir, paths.configDir, path.dirname(paths.tasksActive), paths.migrationLockDir])
    mkdirSync(dir, { recursive: true });
  const processes = new Map<number, ProcessInfo>();
  // Per pid: each descriptor's target and its fdinfo `lock:` line.
  const fdLocks = new Map<number, { target: string; line: string }[]>();
  const lockLines: string[] = [];
  const proc: ProcReader = {
    locks: async () => lockLines.map((l, i) => `${i + 1}: ${l}`).join("\n") + "\n",
    pids: async () => [...processes.keys()],
    openIn: async () =>
      [...fdLocks].flatMap(([pid, fds]) =>
        fds.map(({ target, line }, i) => ({ pid, fd: String(3 + i), target, lockLines: [`lock:\t1: ${line}`] })),
      ),
    process: async (pid) => processes.get(pid) ?? null,
  };
  const clock = new ManualClock();
  const clusterFs = fakeClusterFs();
  const inspector = new LockInspector({ node: "pve1", paths, proc, clusterFs, clock, staleGraceMs: GRACE_MS });
  const fileNumbers = (file: string): string => {
    writeFileSync(file, "", { flag: "a" });
    const st = statSync(file, { bigint: true });
    const { major, minor } = devToMajorMinor(st.dev);
    return `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}:${st.ino}`;
  };
  return {
    root,
    paths,
    clock,
    inspector,
    proc,
    clusterFs,
    /** Writes `<vmid>.conf` with these lines. */
    config(vmid: number, ...lines: string[]) {
      writeFileSync(path.join(paths.configDir, `${vmid}.conf`), lines.map((l) => `${l}\n`).join(""));
    },
    /** A live process (state S) with this start time in clock ticks. */
    process(pid: number, startTicks: number, cmdline = "") {
      processes.set(pid, { pid, ppid: 1, session: pid, cmdline, state: "S", startTicks, startedMs: clock.now() });
    },
    /** A running line of the active task list for a worker `pid` started at `startTicks`. */
    task(pid: number, startTicks: number, type: string, id: string) {
      const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");
      const upid = `UPID:pve1:${hex(pid)}:${hex(startTicks)}:${hex(Math.floor(clock.now() / 1000))}:${type}:${id}:root@pam:`;
      writeFileSync(paths.tasksActive, `${upid} 1\n`, { flag: "a" });
      processes.set(pid, {
        pid,
        ppid: 1,
        session: pid,
        cmdline: `task ${upid}`,
        state: "S",
        startTicks,
        startedMs: clock.now(),
      });
      return upid;
    },
    /** A kernel lock on vmid's config lock file, as /proc/locks (and the holder's fdinfo) show it. */
    kernelLock(vmid: number, kind: "FLOCK" | "POSIX" | "OFDLCK", pid: number) {
      const line = `${kind === "FLOCK" ? "FLOCK  ADVISORY " : `${kind} ADVISORY `} WRITE ${pid} ${fileNumbers(lockFilePath(paths, vmid))} 0 EOF`;
      lockLines.push(line);
      if (pid > 0) fdLocks.set(pid, [...(fdLocks.get(pid) ?? []), { target: lockFilePath(paths, vmid), line }]);
    },
    /** A flock on the guest migration lock `pve-migrate-<vmid>`. */
    migrationFlock(vmid: number, pid: number) {
      lockLines.push(
        `FLOCK  ADVISORY  WRITE ${pid} ${fileNumbers(path.join(paths.migrationLockDir, `pve-migrate-${vmid}`))} 0 EOF`,
      );
    },
  };
}
