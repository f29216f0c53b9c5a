import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import test, { type ExecutionContext } from "ava";
import { ManualClock, scratchDir } from "@lockstep/shared";
import { LockInspector } from "../../src/locks/lock-inspector.js";
import type { NodePaths } from "../../src/node/node-paths.js";
import { realProcReader } from "../../src/proc/proc-reader.js";
import { fakeClusterFs } from "../node/fake-cluster-fs.js";

// A child process that takes a real lock on `file` with Python's fcntl, says "locked", and waits.
const POSIX =
  "import fcntl,sys,time\nf=open(sys.argv[1],'a')\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint('locked',flush=True)\ntime.sleep(60)";
const OFD =
  "import fcntl,struct,sys,time\nf=open(sys.argv[1],'a')\nfcntl.fcntl(f,fcntl.F_OFD_SETLK,struct.pack('hhqqi',fcntl.F_WRLCK,0,0,0,0))\nprint('locked',flush=True)\ntime.sleep(60)";

function realNode(t: ExecutionContext) {
  const root = scratchDir(t, "kernel-locks");
  const paths: NodePaths = {
    pct: "/bin/false",
    lockDir: path.join(root, "lock"),
    configDir: path.join(root, "lxc"),
    pveDir: root,
    tasksActive: path.join(root, "active"),
    nodesDir: path.join(root, "nodes"),
    migrationLockDir: path.join(root, "pve-manager"),
    procRoot: "/proc",
    pctEnv: {},
  };
  for (const dir of [paths.lockDir, paths.configDir]) mkdirSync(dir);
  writeFileSync(path.join(paths.configDir, "101.conf"), "hostname: ct101\n");
  const lockFile = path.join(paths.lockDir, "pve-config-101.lock");
  writeFileSync(lockFile, "");
  return {
    inspector: new LockInspector({
      node: "pve1",
      paths,
      proc: realProcReader(),
      clusterFs: fakeClusterFs(),
      clock: new ManualClock(),
      staleGraceMs: 30_000,
    }),
    lockFile,
  };
}

async function holdWith(t: { teardown(fn: () => void): void }, program: string, file: string): Promise<number> {
  const child = spawn("python3", ["-c", program, file], { stdio: ["ignore", "pipe", "inherit"] });
  t.teardown(() => child.kill("SIGKILL"));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d) => String(d).includes("locked") && resolve());
    child.on("exit", (code) => reject(new Error(`lock holder exited ${code}`)));
  });
  return child.pid!;
}

test("a real POSIX lock on the config lock file is reported with its pid and does not make the lock HELD", async (t) => {
  const { inspector, lockFile } = realNode(t);
  const pid = await holdWith(t, POSIX, lockFile);
  const report = await inspector.inspect(101);
  t.like(report, { verdict: "FREE", kernelLocked: false, recordedPid: 0 });
  t.deepEqual(
    report.otherKernelLocks.map((l) => [l.kind, l.pid]),
    [["POSIX", pid]],
  );
});

test("a real OFD lock on the config lock file is reported with pid -1 and does not make the lock HELD", async (t) => {
  const { inspector, lockFile } = realNode(t);
  await holdWith(t, OFD, lockFile);
  const report = await inspector.inspect(101);
  t.like(report, { verdict: "FREE", kernelLocked: false, recordedPid: 0 });
  t.deepEqual(
    report.otherKernelLocks.map((l) => [l.kind, l.pid]),
    [["OFDLCK", -1]],
  );
});

test("a POSIX lock does not block flock(1) on the same file, as it does not block pct", async (t) => {
  const { lockFile } = realNode(t);
  await holdWith(t, POSIX, lockFile);
  const status = await new Promise<number | null>((resolve) =>
    spawn("flock", ["-n", lockFile, "true"]).on("exit", resolve),
  );
  t.is(status, 0);
});
