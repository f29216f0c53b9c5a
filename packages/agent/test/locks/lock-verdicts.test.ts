import test from "ava";
import { agentV1 } from "@lockstep/shared";
import { lockReportToProto } from "../../src/grpc/lock-service.js";
import { GRACE_MS, lockNode } from "./lock-fixture.js";

// pve-manager PVE/API2/VZDump.pm vzdump: fork_worker('vzdump', $taskid) with $taskid empty when
// the job has several local guests; pve-container VZDump/LXC.pm lock_vm: set_lock($vmid, 'backup').
test("a backup lock while a multi-guest vzdump task runs is HELD by that task, however long it lasts", async (t) => {
  const node = lockNode(t);
  node.config(101, "hostname: ct101", "lock: backup");
  const upid = node.task(5000, 777, "vzdump", "");
  node.clock.advance(10 * GRACE_MS);
  const report = await node.inspector.inspect(101);
  t.like(report, { verdict: "HELD", ownerKind: "TASK" });
  t.deepEqual(
    report.activeTasks.map((task) => task.upid),
    [upid],
  );
  t.regex(report.owner, /held by task vzdump pid 5000/);
});

test("a vzdump task listed under another single VMID does not own this container's backup lock", async (t) => {
  const node = lockNode(t);
  node.config(101, "lock: backup");
  node.task(5000, 777, "vzdump", "102");
  await node.inspector.inspect(101);
  node.clock.advance(GRACE_MS);
  t.is((await node.inspector.inspect(101)).verdict, "STALE");
});

test("a backup lock whose vzdump task ended is STALE only once the grace period has passed", async (t) => {
  const node = lockNode(t);
  node.config(101, "lock: backup");
  t.like(await node.inspector.inspect(101), { verdict: "HELD", ownerKind: "GRACE" });
  node.clock.advance(GRACE_MS - 1);
  t.is((await node.inspector.inspect(101)).verdict, "HELD");
  node.clock.advance(1);
  t.like(await node.inspector.inspect(101), { verdict: "STALE", ownerKind: "NONE" });
});

// pve-container src/PVE/CLI/pct.pm mount: set_lock($vmid, 'mounted') until `pct unmount`, no task.
test("a mounted lock with no task and no flock is an operator's and never STALE", async (t) => {
  const node = lockNode(t);
  node.config(101, "lock: mounted");
  await node.inspector.inspect(101);
  node.clock.advance(100 * GRACE_MS);
  t.like(await node.inspector.inspect(101), { verdict: "HELD", ownerKind: "OPERATOR" });
});

// pve-container src/PVE/CLI/pct.pm fstrim: set_lock($vmid, 'fstrim') in the CLI process.
test("an fstrim lock with no task and no flock is an operator's and never STALE", async (t) => {
  const node = lockNode(t);
  node.config(101, "lock: fstrim");
  await node.inspector.inspect(101);
  node.clock.advance(100 * GRACE_MS);
  t.like(await node.inspector.inspect(101), { verdict: "HELD", ownerKind: "OPERATOR" });
});

// pve-container src/PVE/API2/LXC.pm clone_vm: fork_worker('vzclone', $vmid) under the SOURCE VMID.
test("a clone target's create lock is HELD by the vzclone task listed under the source VMID", async (t) => {
  const node = lockNode(t);
  node.config(200, "lock: create");
  node.task(6000, 888, "vzclone", "100");
  node.clock.advance(10 * GRACE_MS);
  t.like(await node.inspector.inspect(200), { verdict: "HELD", ownerKind: "TASK" });
});

// pve-container src/PVE/API2/LXC.pm create_vm: create_and_lock_config in pct, then the worker.
test("a create placeholder without flock or listed task is inside its grace period, not STALE", async (t) => {
  const node = lockNode(t);
  node.config(101, "lock: create");
  const first = await node.inspector.inspect(101);
  t.like(first, { verdict: "HELD", ownerKind: "GRACE", unownedSinceMs: node.clock.now() });
  node.task(7000, 999, "vzcreate", "101");
  t.like(await node.inspector.inspect(101), { verdict: "HELD", ownerKind: "TASK", unownedSinceMs: 0 });
});

test("a lock value the owner table does not know is never STALE", async (t) => {
  const node = lockNode(t);
  node.config(101, "lock: suspended");
  await node.inspector.inspect(101);
  node.clock.advance(100 * GRACE_MS);
  t.like(await node.inspector.inspect(101), { verdict: "HELD", ownerKind: "UNKNOWN_VALUE" });
});

// pve-common ProcFSTools.pm check_process_running: the pid and its start time (stat field 22).
test("a task line whose pid now belongs to another process owns nothing", async (t) => {
  const node = lockNode(t);
  node.config(101, "lock: snapshot");
  node.task(5000, 777, "vzsnapshot", "101");
  node.process(5000, 12345);
  await node.inspector.inspect(101);
  node.clock.advance(GRACE_MS);
  t.is((await node.inspector.inspect(101)).verdict, "STALE");
});

test("the grace period starts again when the lock value changes", async (t) => {
  const node = lockNode(t);
  node.config(101, "lock: snapshot");
  await node.inspector.inspect(101);
  node.clock.advance(GRACE_MS - 1000);
  node.config(101, "lock: rollback");
  await node.inspector.inspect(101);
  node.clock.advance(1000);
  t.like(await node.inspector.inspect(101), { verdict: "HELD", ownerKind: "GRACE" });
});

test("a flock on the config lock file is HELD whatever the config says", async (t) => {
  const node = lockNode(t);
  node.config(101, "hostname: ct101");
  node.process(4242, 50, "flock /run/lock/lxc/pve-config-101.lock sleep 30");
  node.kernelLock(101, "FLOCK", 4242);
  const report = await node.inspector.inspect(101);
  t.like(report, { verdict: "HELD", ownerKind: "FLOCK", kernelLocked: true, recordedPid: 4242 });
  t.deepEqual(
    report.holders.map((h) => h.pid),
    [4242],
  );
});

// Linux fs/locks.c lock_get_status: an OFD lock's pid is -1; pct locks with flock(2) only.
test("POSIX and OFD locks on the lock file are reported and leave it FREE", async (t) => {
  const node = lockNode(t);
  node.config(101, "hostname: ct101");
  node.process(4343, 60);
  node.kernelLock(101, "POSIX", 4343);
  node.kernelLock(101, "OFDLCK", -1);
  const report = await node.inspector.inspect(101);
  t.like(report, { verdict: "FREE", kernelLocked: false, recordedPid: 0, holders: [] });
  t.deepEqual(
    report.otherKernelLocks.map((l) => [l.kind, l.pid]),
    [
      ["POSIX", 4343],
      ["OFDLCK", -1],
    ],
  );
});

test("a report with an OFD lock's pid -1 goes through the contract's encoding", async (t) => {
  const node = lockNode(t);
  node.config(101, "lock: backup");
  node.kernelLock(101, "OFDLCK", -1);
  const bytes = agentV1.LockReport.encode(lockReportToProto(await node.inspector.inspect(101))).finish();
  t.deepEqual(
    agentV1.LockReport.decode(bytes).otherKernelLocks.map((l) => l.pid),
    [-1],
  );
});

// pve-guest-common GuestHelpers.pm guest_migration_lock: /var/lock/pve-manager/pve-migrate-<vmid>.
test("the guest migration lock's holder is reported beside the config lock", async (t) => {
  const node = lockNode(t);
  node.config(101, "hostname: ct101");
  node.process(4444, 70, "pvesr run");
  node.migrationFlock(101, 4444);
  t.like((await node.inspector.inspect(101)).migrationLock, { locked: true, pid: 4444, cmdline: "pvesr run" });
});
