import { readFileSync } from "node:fs";
import test from "ava";
import {
  decodeUpid,
  liveTaskWorkers,
  readCalls,
  readTaskStatus,
  simLayout,
  taskLogPath,
  writeFaults,
} from "../src/index.js";
import { eventually, lockIsFree, simNode, TEMPLATE } from "./sim-harness.js";
import type { TestScope } from "@lockstep/shared";

type Node = ReturnType<typeof simNode>;

async function createdNode(t: TestScope): Promise<Node> {
  const node = simNode(t);
  t.teardown(() => node.killWorkers());
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  return node;
}

const activeLines = (node: Node): string[] =>
  readFileSync(simLayout(node.root).tasksActive, "utf8").split("\n").filter(Boolean);
const sessionOf = (pid: number): number =>
  Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[3]);
const taskStarts = (node: Node, type?: string) =>
  readCalls(node.root).filter(
    (c) => c.event === "task-start" && (type === undefined || (c as { upid: string }).upid.includes(`:${type}:`)),
  );

// pve-common src/PVE/RESTEnvironment.pm, fork_worker: `POSIX::setsid()` for a CLI worker
// whose stdin is no tty, and `$0 = "task $upid"` with the worker's own pid and start time.
test("a task worker runs in its own session with 'task UPID' as its command line", async (t) => {
  const node = await createdNode(t);
  writeFaults(node.root, [{ command: "start", action: "hang", ms: 4000 }]);
  const pct = node.spawnPct(["start", "101"]);
  t.true(await eventually(() => liveTaskWorkers(node.root).length === 1, 15_000));
  const [worker] = liveTaskWorkers(node.root);
  t.is(readFileSync(`/proc/${worker!.pid}/cmdline`, "utf8").split("\0")[0], `task ${worker!.upid}`);
  t.is(decodeUpid(worker!.upid)!.pid, worker!.pid);
  t.is(sessionOf(worker!.pid), worker!.pid, "session leader");
  t.not(sessionOf(worker!.pid), sessionOf(pct.pid!));
  await new Promise((r) => pct.once("close", r));
});

// pve-common INotify.pm, write_active_workers; RESTEnvironment.pm, active_workers ($MAX_FINISHED = 25,
// the rest archived to /var/log/pve/tasks/index once).
test("the active list has Proxmox's format and keeps 25 tasks, archiving the rest to index", async (t) => {
  const node = await createdNode(t);
  for (let i = 0; i < 14; i++) {
    t.is((await node.pct(["start", "101"])).code, 0);
    t.is((await node.pct(["stop", "101"])).code, 0);
  }
  const lines = activeLines(node);
  t.is(lines.length, 25);
  for (const line of lines) t.regex(line, /^\S+ [01]( [0-9A-F]{8}( .*)?)?$/);
  t.regex(lines[0]!, /:vzstop:101:root@pam: 1 [0-9A-F]{8} OK$/, "newest first");
  const index = readFileSync(`${simLayout(node.root).tasksDir}/index`, "utf8")
    .split("\n")
    .filter(Boolean);
  t.true(index.length >= 28, "every finished task archived");
  for (const line of index) t.regex(line, /^UPID:\S+ [0-9A-F]{8} \S.*$/);
});

// RESTEnvironment.pm fork_worker: `active_workers($upid, $sync)` lists the task as running
// (`<UPID> 0`); tee_worker copies the output and the control line to UPID::open_log's file.
test("a running task is listed as '<UPID> 0' and its log ends with the control line", async (t) => {
  const node = await createdNode(t);
  writeFaults(node.root, [{ command: "start", action: "hang", ms: 3000 }]);
  const run = node.pct(["start", "101"]);
  t.true(await eventually(() => liveTaskWorkers(node.root).length === 1, 15_000));
  const { upid } = liveTaskWorkers(node.root)[0]!;
  t.true(activeLines(node).includes(`${upid} 0`));
  t.is((await run).code, 0);
  t.is(readFileSync(taskLogPath(simLayout(node.root), upid), "utf8"), "TASK OK\n");
  t.is(readTaskStatus(simLayout(node.root), upid), "OK");
});

// pve-container src/PVE/CLI/pct.pm, cmddef start with `$upid_exit`; tee_worker prints the
// error of `TASK ERROR: <msg>` on stderr.
test("a failed task prints its error on stderr and pct exits 255", async (t) => {
  const node = await createdNode(t);
  writeFaults(node.root, [{ command: "start", action: "fail", message: "boom" }]);
  const result = await node.pct(["start", "101"]);
  t.is(result.code, 255);
  t.is(result.stderr, "boom\n");
  const upid = (taskStarts(node, "vzstart")[0] as { upid: string }).upid;
  t.is(readFileSync(taskLogPath(simLayout(node.root), upid), "utf8"), "\nTASK ERROR: boom\n");
});

// Status.pm vm_start: lock_config inside the worker's $realcmd. The worker is in another
// session, so a SIGKILL to pct's process group leaves it running, holding the flock.
test("a SIGKILLed pct leaves its worker running and holding the flock, and the worker then finishes", async (t) => {
  const node = await createdNode(t);
  writeFaults(node.root, [{ command: "start", action: "hang", ms: 3000 }]);
  const pct = node.spawnPct(["start", "101"]);
  t.true(await eventually(() => liveTaskWorkers(node.root).length === 1 && !lockIsFree(node.lockFile(101)), 15_000));
  const { upid, pid } = liveTaskWorkers(node.root)[0]!;
  pct.kill("SIGKILL");
  await new Promise((r) => pct.once("close", r));
  t.false(lockIsFree(node.lockFile(101)), "the worker still holds the flock");
  t.true(readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("task UPID:"));
  t.true(await eventually(() => liveTaskWorkers(node.root).length === 0, 15_000), "the worker finished");
  t.true(lockIsFree(node.lockFile(101)));
  t.true(activeLines(node).includes(`${upid} 0`), "nobody rewrote its line");
  t.is((await node.pct(["status", "101"])).stdout, "status: running\n", "its work was done");
});

// fork_worker: `$SIG{PIPE} = 'DEFAULT'` in the worker: its next write after pct died kills it,
// with no error path and no cleanup.
test("a worker whose pct died dies at its next write, without cleanup", async (t) => {
  const node = await createdNode(t);
  writeFaults(node.root, [{ command: "start", action: "hang", ms: 3000, afterHang: "print" }]);
  const pct = node.spawnPct(["start", "101"]);
  t.true(await eventually(() => liveTaskWorkers(node.root).length === 1 && !lockIsFree(node.lockFile(101)), 15_000));
  const { upid } = liveTaskWorkers(node.root)[0]!;
  pct.kill("SIGKILL");
  t.true(
    await eventually(() => readCalls(node.root).some((c) => c.event === "task-sigpipe" && c.upid === upid), 15_000),
  );
  t.true(await eventually(() => liveTaskWorkers(node.root).length === 0));
  t.is((await node.pct(["status", "101"])).stdout, "status: stopped\n", "it died before starting the CT");
});

// tee_worker: INT/QUIT/TERM to pct send TERM to the worker's process group; the worker's
// `$SIG{TERM} = sub { die "received interrupt\n" }` fails the task at its next check.
test("SIGTERM to pct interrupts the worker, which fails with 'received interrupt'", async (t) => {
  const node = await createdNode(t);
  writeFaults(node.root, [{ command: "start", action: "hang" }]);
  const run = node.pct(["start", "101"]);
  t.true(await eventually(() => liveTaskWorkers(node.root).length === 1 && !lockIsFree(node.lockFile(101)), 15_000));
  const pctPid = (readCalls(node.root).find((c) => c.event === "start" && c.argv[0] === "start") as { pid: number })
    .pid;
  process.kill(pctPid, "SIGTERM");
  const result = await run;
  t.is(result.code, 255);
  t.is(result.stderr, "received interrupt\n");
  t.true(lockIsFree(node.lockFile(101)));
  t.is((await node.pct(["status", "101"])).stdout, "status: stopped\n");
});

// A D-state hang (storage, pmxcfs) ignores signals: `uninterruptible` keeps the worker going.
test("an uninterruptible hang ignores pct's TERM", async (t) => {
  const node = await createdNode(t);
  writeFaults(node.root, [{ command: "start", action: "hang", uninterruptible: true }]);
  const run = node.pct(["start", "101"]);
  t.true(await eventually(() => liveTaskWorkers(node.root).length === 1 && !lockIsFree(node.lockFile(101)), 15_000));
  const pctPid = (readCalls(node.root).find((c) => c.event === "start" && c.argv[0] === "start") as { pid: number })
    .pid;
  process.kill(pctPid, "SIGTERM");
  await new Promise((r) => setTimeout(r, 1000));
  t.is(liveTaskWorkers(node.root).length, 1, "still hanging");
  node.killWorkers();
  t.is((await run).code, 255);
});

// Tools.pm lock_file_full: a TERM during the flock wait ends it: `can't lock file ... - received interrupt`.
test("a worker waiting for the flock is interrupted by TERM", async (t) => {
  const node = await createdNode(t);
  const holder = (await import("node:child_process")).spawn("flock", [node.lockFile(101), "sleep", "30"], {
    detached: true,
    stdio: "ignore",
  });
  t.teardown(() => process.kill(-holder.pid!, "SIGKILL"));
  t.true(await eventually(() => !lockIsFree(node.lockFile(101))));
  const run = node.pct(["start", "101"]);
  t.true(await eventually(() => liveTaskWorkers(node.root).length === 1, 15_000));
  await new Promise((r) => setTimeout(r, 500));
  const pctPid = (readCalls(node.root).find((c) => c.event === "start" && c.argv[0] === "start") as { pid: number })
    .pid;
  process.kill(pctPid, "SIGTERM");
  const result = await run;
  t.is(result.code, 255);
  t.is(result.stderr, "can't lock file '/run/lock/lxc/pve-config-101.lock' - received interrupt\n");
});

// pve-container src/PVE/CLI/pct.pm, push: `die "can only push files to a running CT"` under
// lock_config, before fork_worker (audit D29).
test("push to a stopped CT fails in pct before any task", async (t) => {
  const node = await createdNode(t);
  const result = await node.pct(["push", "101", "/etc/hostname", "/x"]);
  t.is(result.code, 255);
  t.is(result.stderr, "can only push files to a running CT\n");
  t.is(taskStarts(node, "push_file").length, 0);
  t.false(activeLines(node).some((l) => l.includes(":push_file:")));
});
