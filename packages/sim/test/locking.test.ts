import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import test from "ava";
import { startedCalls, writeFaults } from "../src/index.js";
import { eventually, lockIsFree, seenHeldDuring, simNode, sleep, TEMPLATE } from "./sim-harness.js";

test("two concurrent callers on one VMID serialize", async (t) => {
  // The start holds its lock far longer than a stall of this test under the whole suite's load,
  // and the waiter waits longer still. The test watches the lock for as long as the start runs,
  // so no deadline of its own can miss a start that is slow to begin (CI missed it twice).
  const node = simNode(t, { LOCKSTEP_SIM_LOCK_TIMEOUT_S: "60" });
  const created = await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm", "--hostname", "web-1"]);
  t.is(created.code, 0, created.stderr);
  writeFaults(node.root, [{ command: "start", action: "slow", ms: 20_000 }]);
  const first = node.pct(["start", "101"]);
  const seen = await seenHeldDuring(node.lockFile(101), first);
  t.true(seen.held, `start holds the lock${seen.held ? "" : ` (it ended first: ${JSON.stringify(seen.run)})`}`);
  const second = await node.pct(["set", "101", "--memory", "1024"]);
  const started = await first;
  t.is(started.code, 0, started.stderr);
  t.is(second.code, 0, second.stderr);
  t.is(second.stderr, "trying to acquire lock... OK\n");
  t.true(second.ms >= 700, `set waited for start (${second.ms} ms)`);
});

test("a waiting caller times out with Proxmox's exact message and exit status", async (t) => {
  const node = simNode(t, { LOCKSTEP_SIM_LOCK_TIMEOUT_S: "1" });
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const holder = spawn("flock", [node.lockFile(101), "sleep", "30"], { detached: true, stdio: "ignore" });
  t.teardown(() => process.kill(-holder.pid!, "SIGKILL"));
  t.true(await eventually(() => !lockIsFree(node.lockFile(101))));
  const result = await node.pct(["start", "101"]);
  t.is(result.code, 255);
  // start takes the flock in its worker, whose stderr is the pipe pct relays to its stdout
  // (pve-common RESTEnvironment.pm, fork_worker/tee_worker); the task's error goes to stderr.
  t.is(result.stdout, "trying to acquire lock...\n");
  t.is(result.stderr, "can't lock file '/run/lock/lxc/pve-config-101.lock' - got timeout\n");
});

test("a simulator killed mid-snapshot leaves lock: snapshot, which blocks others until unlock", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  // Held midway until killed: the test sees the lock however long it is kept from running.
  writeFaults(node.root, [{ command: "snapshot", action: "hang" }]);
  const child = node.spawnPct(["snapshot", "101", "before-upgrade"]);
  t.teardown(() => node.killWorkers());
  t.true(await eventually(() => /^lock: snapshot$/m.test(readFileSync(node.config(101), "utf8"))));
  // The whole simulator: pct and the task worker that outlives it (as fork_worker's does).
  child.kill("SIGKILL");
  await new Promise((r) => child.on("close", r));
  node.killWorkers();
  t.true(await eventually(() => lockIsFree(node.lockFile(101))), "the killed worker's flock is gone");
  t.regex(readFileSync(node.config(101), "utf8"), /^lock: snapshot$/m);
  t.is((await node.pct(["start", "101"])).stderr, "CT is locked (snapshot)\n");
  const unlock = await node.pct(["unlock", "101"]);
  t.is(unlock.code, 0);
  t.is(unlock.stdout + unlock.stderr, "");
  t.is((await node.pct(["start", "101"])).code, 0);
});

test("the crash fault on create leaves a placeholder holding only lock: create", async (t) => {
  const node = simNode(t);
  writeFaults(node.root, [{ command: "create", action: "crash" }]);
  const result = await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  // The crash kills the task worker: pct sees no control message (RESTEnvironment.pm tee_worker,
  // "got unexpected control message") and exits 255.
  t.is(result.code, 255);
  t.is(readFileSync(node.config(101), "utf8"), "lock: create\n");
  t.true(lockIsFree(node.lockFile(101)), "the kernel lock died with the process");
  t.is(startedCalls(node.root, "create").length, 1);
});

test("unlock with no lock fails with Proxmox's message", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const result = await node.pct(["unlock", "101"]);
  t.is(result.code, 255);
  t.is(result.stderr, "no lock found trying to remove any lock\n");
});

test("the lock file is never deleted, not even by destroy", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  t.is((await node.pct(["destroy", "101"])).code, 0);
  t.true(existsSync(node.lockFile(101)));
  t.false(existsSync(node.config(101)));
});

test("hang-before-lock blocks without taking the lock", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  writeFaults(node.root, [{ command: "start", action: "hang-before-lock" }]);
  const child = node.spawnPct(["start", "101"]);
  t.teardown(() => {
    child.kill("SIGKILL");
    node.killWorkers();
  });
  t.true(await eventually(() => startedCalls(node.root, "start").length === 1), "the call started");
  await sleep(500);
  t.is(child.exitCode, null, "still hanging");
  t.true(lockIsFree(node.lockFile(101)));
});

test("a hang fault holds the lock", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  writeFaults(node.root, [{ command: "start", action: "hang" }]);
  const child = node.spawnPct(["start", "101"]);
  t.teardown(() => {
    child.kill("SIGKILL");
    node.killWorkers();
  });
  t.true(await eventually(() => !lockIsFree(node.lockFile(101))), "the hanging call holds the lock");
  await sleep(500);
  t.is(child.exitCode, null, "and keeps it");
  t.false(lockIsFree(node.lockFile(101)));
});

test("a fault can target one VMID and a number of calls", async (t) => {
  const node = simNode(t);
  for (const vmid of ["101", "102"]) await node.pct(["create", vmid, TEMPLATE, "--storage", "local-lvm"]);
  writeFaults(node.root, [{ command: "start", vmid: 102, skip: 1, times: 1, action: "fail", message: "boom" }]);
  t.is((await node.pct(["start", "101"])).code, 0);
  t.is((await node.pct(["start", "102"])).code, 0, "the first matching call is skipped");
  await node.pct(["stop", "102"]);
  const failed = await node.pct(["start", "102"]);
  t.is(failed.code, 255);
  t.is(failed.stderr, "boom\n");
  t.is((await node.pct(["start", "102"])).code, 0, "only one call is affected");
});
