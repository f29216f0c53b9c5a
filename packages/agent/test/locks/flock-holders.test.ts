import { spawn } from "node:child_process";
import { statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { scratchDir, type TestScope } from "@lockstep/shared";
import { FlockHolderScan, type FileId } from "../../src/locks/flock-holders.js";
import { devToMajorMinor } from "../../src/proc/proc-locks.js";
import { realProcReader, type OpenFd, type ProcessInfo, type ProcReader } from "../../src/proc/proc-reader.js";
import { untilLocked } from "../integration/agent-harness.js";

function lockFile(t: TestScope): { file: string; id: FileId } {
  const file = path.join(scratchDir(t, "flock-holders"), "pve-config-101.lock");
  writeFileSync(file, "");
  const st = statSync(file, { bigint: true });
  return { file, id: { ...devToMajorMinor(st.dev), inode: Number(st.ino) } };
}

/** util-linux flock running sleep: flock takes the lock, sleep inherits its descriptor. */
async function holdWithFlock(t: { teardown(fn: () => void): void }, file: string): Promise<number> {
  const holder = spawn("flock", [file, "sleep", "60"], { detached: true, stdio: "ignore" });
  t.teardown(() => process.kill(-holder.pid!, "SIGKILL"));
  await untilLocked(file, 30_000);
  return holder.pid!;
}

test("the process that took a flock and the child that inherited its descriptor are both holders", async (t) => {
  const { file, id } = lockFile(t);
  const flockPid = await holdWithFlock(t, file);
  const holders = await new FlockHolderScan(realProcReader()).holders(file, id);
  t.is(holders.length, 2);
  t.true(holders.some((h) => h.pid === flockPid && h.cmdline.startsWith("flock ")));
  t.true(holders.some((h) => h.ppid === flockPid && h.cmdline.startsWith("sleep ")));
});

test("a process with the lock file open but without its flock is not a holder", async (t) => {
  const { file, id } = lockFile(t);
  await holdWithFlock(t, file);
  const reader = spawn(
    "python3",
    ["-c", "import sys,time\nf=open(sys.argv[1])\nprint('open',flush=True)\ntime.sleep(60)", file],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  t.teardown(() => reader.kill("SIGKILL"));
  await new Promise<void>((resolve) => reader.stdout.on("data", (d) => String(d).includes("open") && resolve()));
  const holders = await new FlockHolderScan(realProcReader()).holders(file, id);
  t.false(holders.some((h) => h.pid === reader.pid));
  t.is(holders.length, 2);
});

test("a holder is found when the agent's path to the lock file goes through a symlink", async (t) => {
  const { file, id } = lockFile(t);
  const link = path.join(scratchDir(t, "flock-holders-link"), "lock");
  symlinkSync(path.dirname(file), link);
  const flockPid = await holdWithFlock(t, file);
  const holders = await new FlockHolderScan(realProcReader()).holders(path.join(link, path.basename(file)), id);
  t.true(holders.some((h) => h.pid === flockPid));
});

/** A fake /proc with `processes` processes of `fdsEach` fds, one of which (pid 7, fd 3) is on `file`; it counts what is read. */
function countingProc(file: string, line: string, processes: number, fdsEach: number) {
  const reads = { passes: 0, process: [] as number[] };
  const info = (pid: number): ProcessInfo => ({
    pid,
    cmdline: "holder",
    state: "S",
    ppid: 1,
    session: pid,
    startTicks: 1,
    startedMs: 0,
  });
  const all: OpenFd[] = Array.from({ length: processes }, (_, p) =>
    Array.from({ length: fdsEach }, (_, i) => {
      const pid = p + 1;
      const onFile = pid === 7 && i === 3;
      return {
        pid,
        fd: String(i),
        target: onFile ? file : path.join(path.dirname(file), `other-${i}.lock`),
        lockLines: onFile ? [`lock:\t1: ${line}`] : [],
      };
    }),
  ).flat();
  const proc: ProcReader = {
    locks: async () => "",
    pids: async () => Array.from({ length: processes }, (_, i) => i + 1),
    openIn: async (dirs) => {
      reads.passes++;
      await new Promise((r) => setTimeout(r, 20));
      return all.filter((open) => dirs.includes(path.dirname(open.target)));
    },
    process: async (pid) => {
      reads.process.push(pid);
      return info(pid);
    },
  };
  return { proc, reads };
}

test("only the stat of the process whose descriptor on the lock file shows the flock is read", async (t) => {
  const { file, id } = lockFile(t);
  const numbers = `${id.major.toString(16)}:${id.minor.toString(16)}:${id.inode}`;
  const { proc, reads } = countingProc(file, `FLOCK  ADVISORY  WRITE 7 ${numbers} 0 EOF`, 200, 20);
  const holders = await new FlockHolderScan(proc).holders(file, id);
  t.deepEqual(
    holders.map((h) => h.pid),
    [7],
  );
  t.deepEqual(reads.process, [7]);
});

test("inspections that start while a pass over /proc runs share it instead of starting their own", async (t) => {
  const { file, id } = lockFile(t);
  const numbers = `${id.major.toString(16)}:${id.minor.toString(16)}:${id.inode}`;
  const { proc, reads } = countingProc(file, `FLOCK  ADVISORY  WRITE 7 ${numbers} 0 EOF`, 50, 5);
  const scan = new FlockHolderScan(proc);
  const all = await Promise.all(Array.from({ length: 5 }, () => scan.holders(file, id)));
  t.deepEqual(
    all.map((holders) => holders.map((h) => h.pid)),
    [[7], [7], [7], [7], [7]],
  );
  t.is(reads.passes, 1);
  await scan.holders(file, id);
  t.is(reads.passes, 2);
});
