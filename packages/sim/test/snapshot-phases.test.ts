import { spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { writeFaults } from "../src/index.js";
import { eventually, lockIsFree, simNode, TEMPLATE } from "./sim-harness.js";

test("a snapshot killed after prepare leaves its section with snapstate: prepare and lock: snapshot", async (t) => {
  // pve-guest-common AbstractConfig.pm __snapshot_prepare writes the section (as pve-container
  // src/test/snapshot-expected/prepare/lxc/102.conf shows) before the volume snapshots.
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  writeFaults(node.root, [{ command: "snapshot", action: "crash" }]);
  await node.pct(["snapshot", "101", "s1"]);
  const config = readFileSync(node.config(101), "utf8");
  t.regex(config, /^lock: snapshot$/m);
  t.regex(config, /\[s1\]\n(.*\n)*snapstate: prepare\n/);
});

test("a snapshot whose volume snapshot fails cleans up: no section, no lock", async (t) => {
  // AbstractConfig.pm snapshot_create: warn "snapshot create failed: starting cleanup", snapshot_delete($force=1).
  // Fixture: pve-container src/test/snapshot-expected/create/lxc/201.conf equals its input.
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const before = readFileSync(node.config(101), "utf8");
  writeFaults(node.root, [{ command: "snapshot", action: "fail", message: "volume snapshot disabled" }]);
  const result = await node.pct(["snapshot", "101", "s1"]);
  t.is(result.code, 255);
  t.is(readFileSync(node.config(101), "utf8"), before);
});

test("a committed snapshot has no snapstate, sets parent and records the volume snapshot", async (t) => {
  // AbstractConfig.pm __snapshot_commit; fixture snapshot-expected/create/lxc/101.conf.
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  t.is((await node.pct(["snapshot", "101", "test", "--description", "test comment"])).code, 0);
  const config = readFileSync(node.config(101), "utf8");
  t.regex(config, /^parent: test$/m);
  t.regex(config, /\[test\]\n#test comment\n/);
  t.notRegex(config, /snapstate|lock:/);
  const vol = JSON.parse(
    readFileSync(path.join(node.root, "var/lib/lockstep-sim/storage/local-lvm/vm-101-disk-0"), "utf8"),
  ) as { snapshots: string[] };
  t.deepEqual(vol.snapshots, ["test"]);
});

test("delsnapshot of the only snapshot gives snapshot-expected/delete/lxc/101.conf: no section, no parent", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const before = readFileSync(node.config(101), "utf8");
  await node.pct(["snapshot", "101", "test"]);
  t.is((await node.pct(["delsnapshot", "101", "test"])).code, 0);
  t.is(readFileSync(node.config(101), "utf8"), before);
});

test("a delsnapshot failing on the volume leaves lock: snapshot-delete and snapstate: delete", async (t) => {
  // AbstractConfig.pm snapshot_delete; the volume that failed stays in the section (snapshot-expected/delete/lxc/201.conf).
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  await node.pct(["snapshot", "101", "test"]);
  writeFaults(node.root, [{ command: "delsnapshot", action: "fail", message: "volume snapshot delete disabled" }]);
  t.is((await node.pct(["delsnapshot", "101", "test"])).stderr, "volume snapshot delete disabled\n");
  const config = readFileSync(node.config(101), "utf8");
  t.regex(config, /^lock: snapshot-delete$/m);
  t.regex(config, /\[test\]\n(.*\n)*rootfs: local-lvm:vm-101-disk-0.*\n(.*\n)*snapstate: delete\n/);
});

test("delsnapshot waits 10 s for the guest migration lock, then fails with its text", async (t) => {
  // pve-container API2/LXC/Snapshot.pm delsnapshot: guest_migration_lock($vmid, 10, ...) on
  // /var/lock/pve-manager/pve-migrate-<vmid> (pve-guest-common GuestHelpers.pm).
  const node = simNode(t, { LOCKSTEP_SIM_LOCK_TIMEOUT_S: "1" });
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  await node.pct(["snapshot", "101", "test"]);
  const file = path.join(node.root, "var/lock/pve-manager/pve-migrate-101");
  mkdirSync(path.dirname(file), { recursive: true });
  const holder = spawn("flock", [file, "sleep", "30"], { detached: true, stdio: "ignore" });
  t.teardown(() => process.kill(-holder.pid!, "SIGKILL"));
  t.true(await eventually(() => !lockIsFree(file)));
  const result = await node.pct(["delsnapshot", "101", "test"]);
  t.regex(result.stderr, /Failed to obtain guest migration lock - replication running\?\n$/);
  t.regex(readFileSync(node.config(101), "utf8"), /^\[test\]$/m, "nothing changed");
});
