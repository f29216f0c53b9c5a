// Task workers as pve-common src/PVE/RESTEnvironment.pm fork_worker makes them
// ($0 = "task $upid", POSIX::setsid) and as /var/log/pve/tasks/active lists them
// (pve-common src/PVE/RESTEnvironment.pm active_workers: "<UPID> <saved>" while running,
// "<UPID> <saved> <ENDTIME hex> <status>" once finished).
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { scratchDir, type TestScope } from "@lockstep/shared";
import { liveTaskWorkers, parseUpid, taskWorkersUnder } from "../../src/pct/task-worker.js";
import type { ProcessInfo, ProcReader } from "../../src/proc/proc-reader.js";

const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");
const upid = (pid: number, pstart: number, type = "vzcreate", id = "100") =>
  `UPID:pve1:${hex(pid)}:${hex(pstart)}:${hex(1_700_000_000)}:${type}:${id}:root@pam:`;

function fakeProc(processes: Partial<ProcessInfo>[]): ProcReader {
  const full = processes.map(
    (p) =>
      ({ cmdline: "", state: "S", ppid: 1, session: 1, startTicks: 1000, startedMs: 0, pid: 0, ...p }) as ProcessInfo,
  );
  return {
    locks: async () => "",
    pids: async () => full.map((p) => p.pid),
    openIn: async () => [],
    process: async (pid) => full.find((p) => p.pid === pid) ?? null,
  };
}

function activeFile(t: TestScope, lines: string[]): string {
  const file = path.join(scratchDir(t, "active"), "active");
  writeFileSync(file, lines.map((l) => `${l}\n`).join(""));
  return file;
}

test("a UPID gives the worker's pid, start time, type and id; a multi-guest vzdump has an empty id", async (t) => {
  t.like(parseUpid(upid(4660, 99, "vzclone", "101")), { pid: 4660, pstart: 99, type: "vzclone", id: "101" });
  t.is(parseUpid(upid(4660, 99, "vzdump", ""))?.id, "");
  t.is(parseUpid("task UPID:broken"), null);
});

test("the task worker of a pct is found among its descendants by cmdline, own session and its own pid in the UPID", async (t) => {
  const proc = fakeProc([
    { pid: 10, ppid: 5, session: 5, cmdline: "/usr/bin/perl /usr/sbin/pct create 100" },
    { pid: 11, ppid: 10, session: 11, startTicks: 700, cmdline: `task ${upid(11, 700)}` },
    { pid: 12, ppid: 11, session: 11, cmdline: "tar xpf template.tar.zst" },
  ]);
  t.deepEqual(
    (await taskWorkersUnder(proc, 10)).map((w) => w.pid),
    [11],
  );
});

test("a task worker that is not a descendant of this pct, or is not its own session, or names another pid, is not this call's", async (t) => {
  const proc = fakeProc([
    { pid: 10, ppid: 5, session: 5, cmdline: "pct create 100" },
    { pid: 20, ppid: 1, session: 20, startTicks: 700, cmdline: `task ${upid(20, 700)}` },
    { pid: 21, ppid: 10, session: 5, startTicks: 700, cmdline: `task ${upid(21, 700)}` },
    { pid: 22, ppid: 10, session: 22, startTicks: 700, cmdline: `task ${upid(99, 700)}` },
    { pid: 23, ppid: 10, session: 23, startTicks: 701, cmdline: `task ${upid(23, 700)}` },
  ]);
  t.deepEqual(await taskWorkersUnder(proc, 10), []);
});

test("at boot, running tasks of the active list whose worker lives are found, finished lines and dead or reused pids are not", async (t) => {
  const proc = fakeProc([
    { pid: 30, startTicks: 300, session: 30, cmdline: `task ${upid(30, 300)}` },
    { pid: 31, startTicks: 999, cmdline: "some other process that reused the pid" },
    { pid: 32, startTicks: 320, state: "Z" },
  ]);
  const file = activeFile(t, [
    `${upid(30, 300, "vzcreate", "100")} 0`,
    `${upid(31, 310, "vzdestroy", "101")} 0`,
    `${upid(32, 320, "vzsnapshot", "102")} 1`,
    `${upid(33, 330, "vzstart", "103")} 0`,
    `${upid(30, 300, "vzstop", "104")} 0 6553F100 OK`,
  ]);
  t.deepEqual(
    (await liveTaskWorkers(file, proc)).map((w) => w.upid),
    [upid(30, 300, "vzcreate", "100")],
  );
});

// pve-common RESTEnvironment.pm fork_worker: pct opens the task log (UPID.pm open_log) before the
// worker runs and before it lists the task as active.
test("at boot, a task worker missing from the active list (its pct was killed before listing it) is found in /proc by its task log", async (t) => {
  const worker = upid(40, 400, "vzcreate", "105");
  const proc = fakeProc([{ pid: 40, startTicks: 400, session: 40, ppid: 1, cmdline: `task ${worker}` }]);
  const tasksDir = scratchDir(t, "tasks");
  const active = path.join(tasksDir, "active");
  t.deepEqual(
    await liveTaskWorkers(active, proc),
    [],
    "no log of it in this node's task directory: not this node's task",
  );
  mkdirSync(path.join(tasksDir, worker.split(":")[4]!.slice(-1)));
  writeFileSync(path.join(tasksDir, worker.split(":")[4]!.slice(-1), worker), "");
  t.deepEqual(
    (await liveTaskWorkers(active, proc)).map((w) => w.id),
    ["105"],
  );
});
