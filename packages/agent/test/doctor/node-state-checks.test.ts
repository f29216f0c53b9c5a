// The checks of what the agent reads and writes on the node (locks, tasks, configs, storages,
// its state directory, the clock), each failed by the simulator.
import { spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { simPctBin } from "@lockstep/sim";
import { activeTasksCheck } from "../../src/doctor/checks/active-tasks-check.js";
import { clockCheck } from "../../src/doctor/checks/clock-check.js";
import { containerConfigsCheck } from "../../src/doctor/checks/container-configs-check.js";
import { lockDirCheck } from "../../src/doctor/checks/lock-dir-check.js";
import { procLocksCheck } from "../../src/doctor/checks/proc-locks-check.js";
import { stateDirCheck } from "../../src/doctor/checks/state-dir-check.js";
import { storagesCheck } from "../../src/doctor/checks/storages-check.js";
import { fakeProcRoot } from "../proc/fake-proc-root.js";
import { checkOn, simulatedNode, TEMPLATE } from "./doctor-harness.js";

/** Makes CT `vmid` on the simulated node with its own `pct`. */
function createCt(root: string, vmid: number): void {
  const made = spawnSync(process.execPath, [simPctBin, "create", String(vmid), TEMPLATE, "--storage", "local-lvm"], {
    env: { ...process.env, LOCKSTEP_SIM_ROOT: root },
    encoding: "utf8",
  });
  if (made.status !== 0) throw new Error(`pct create ${vmid}: ${made.stderr}`);
}

// One at a time: each test starts the simulator's tools, and two CPUs share them with the suite.
test.serial("the lock directory check fails when the lock directory is not a directory", async (t) => {
  const root = simulatedNode(t);
  const lockDir = path.join(root, "run/lock/lxc");
  rmSync(lockDir, { recursive: true });
  writeFileSync(lockDir, "");
  const result = await checkOn(t, root, lockDirCheck);
  t.is(result.status, "fail");
  t.is(result.seen, `${lockDir} is not a directory`);
});

test.serial("the /proc/locks check fails on a line the agent's parser does not understand", async (t) => {
  const proc = fakeProcRoot(t);
  writeFileSync(path.join(proc.root, "locks"), "1: FLOCK  ADVISORY  WRITE 1234 00:19:5678 0 EOF\n1: SOMETHING NEW\n");
  const result = await checkOn(t, simulatedNode(t), procLocksCheck, { LOCKSTEP_AGENT_PROC_ROOT: proc.root });
  t.is(result.status, "fail");
  t.is(result.seen, '1 of 2 lines not understood, first "1: SOMETHING NEW"');
});

test.serial("the active task list check fails on a line that is no task entry", async (t) => {
  const root = simulatedNode(t);
  const active = path.join(root, "var/log/pve/tasks/active");
  appendFileSync(
    active,
    "UPID:pve1:0000ABCD:00C0FFEE:65000000:vzstart:101:root@pam: 1 65000010 OK\nnot a task at all\n",
  );
  const result = await checkOn(t, root, activeTasksCheck);
  t.is(result.status, "fail");
  t.is(
    result.seen,
    `${active}: 1 of 2 lines are no task entry (INotify.pm read_active_workers), line 2 "not a task at all"`,
  );
});

test.serial(
  "the container config check fails on a config line that is neither description nor key: value",
  async (t) => {
    const root = simulatedNode(t);
    createCt(root, 101);
    appendFileSync(path.join(root, "etc/pve/lxc/101.conf"), "memory 512\n");
    const result = await checkOn(t, root, containerConfigsCheck);
    t.is(result.status, "fail");
    t.regex(result.seen, /^1 line not understood: 101\.conf line \d+: not understood "memory 512"$/);
  },
);

test.serial("the container config check fails on an unknown section", async (t) => {
  const root = simulatedNode(t);
  createCt(root, 101);
  createCt(root, 102);
  appendFileSync(path.join(root, "etc/pve/lxc/102.conf"), "\n[pve:replication]\nsource: pve2\n");
  const result = await checkOn(t, root, containerConfigsCheck);
  t.is(result.status, "fail");
  t.regex(result.seen, /^1 line not understood: 102\.conf line \d+: unknown section "\[pve:replication\]"$/);
});

test.serial("the storage check fails when the container storage is not in storage.cfg", async (t) => {
  const root = simulatedNode(t);
  writeFileSync(
    path.join(root, "etc/pve/storage.cfg"),
    "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n",
  );
  const result = await checkOn(t, root, storagesCheck);
  t.is(result.status, "fail");
  t.is(result.seen, "storage 'local-lvm' is not in storage.cfg");
});

test.serial("the storage check fails when the container storage is disabled", async (t) => {
  const root = simulatedNode(t);
  appendFileSync(
    path.join(root, "etc/pve/storage.cfg"),
    "lvmthin: fast\n\tthinpool fast\n\tvgname nvme\n\tcontent rootdir\n\tdisable\n",
  );
  const result = await checkOn(
    t,
    root,
    storagesCheck,
    {},
    {
      storages: [
        { id: "local-lvm", content: "rootdir" },
        { id: "fast", content: "rootdir" },
      ],
    },
  );
  t.is(result.status, "fail");
  t.is(result.seen, "storage 'fast' is disabled");
});

test.serial("the storage check fails when the template storage holds no templates", async (t) => {
  const result = await checkOn(
    t,
    simulatedNode(t),
    storagesCheck,
    {},
    { storages: [{ id: "local-lvm", content: "vztmpl" }] },
  );
  t.is(result.status, "fail");
  t.is(result.seen, "storage 'local-lvm' (lvmthin) does not hold vztmpl (content rootdir,images)");
});

test.serial("the state directory check fails when nothing can be written there", async (t) => {
  const root = simulatedNode(t);
  const stateDir = path.join(root, "var/lib/lockstep-agent");
  mkdirSync(stateDir, { mode: 0o700 });
  // Root writes through any mode: an immutable directory stops it (chattr, where the filesystem has it).
  const immutable = spawnSync("chattr", ["+i", stateDir]).status === 0;
  if (immutable) t.teardown(() => spawnSync("chattr", ["-i", stateDir]));
  else chmodSync(stateDir, 0o500);
  t.log(immutable ? "state directory made immutable (chattr +i)" : "state directory made read-only (0500)");
  const result = await checkOn(t, root, stateDirCheck);
  t.is(result.status, "fail");
  t.regex(result.seen, new RegExp(`^cannot write a durable file in ${stateDir}: (EPERM|EACCES): `));
});

test.serial("the clock check fails when chrony is not synchronised", async (t) => {
  const result = await checkOn(t, simulatedNode(t), clockCheck, { LOCKSTEP_SIM_CLOCK: "unsynchronised" });
  t.is(result.status, "fail");
  t.is(result.seen, "chrony is not synchronised (stratum 0, reference 00000000)");
});

test.serial("the clock check warns, not fails, when no time daemon can be asked", async (t) => {
  const result = await checkOn(t, simulatedNode(t), clockCheck, { LOCKSTEP_SIM_CLOCK: "no-daemon" });
  t.is(result.status, "warn");
  t.is(
    result.seen,
    "no time daemon could be asked (chronyc: 506 Cannot talk to daemon; timedatectl: not on this node): the clock's sync is unknown",
  );
});
