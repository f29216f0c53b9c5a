// vzdump: pve-manager PVE/API2/VZDump.pm vzdump, PVE/VZDump.pm exec_backup / exec_backup_task,
// pve-container src/PVE/VZDump/LXC.pm lock_vm / unlock_vm, AbstractConfig.pm set_lock / remove_lock.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { eventually, lockIsFree, simNode, TEMPLATE } from "./sim-harness.js";
import { runTool } from "./tool-run.js";
import type { TestScope } from "@lockstep/shared";

const lockOf = (file: string): string | undefined => /^lock: (.*)$/m.exec(readFileSync(file, "utf8"))?.[1];
const active = (root: string): string => readFileSync(path.join(root, "var/log/pve/tasks/active"), "utf8");

async function twoCts(t: TestScope) {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  await node.pct(["create", "102", TEMPLATE, "--storage", "local-lvm"]);
  return node;
}

test("VZDump.pm exec_backup: each guest in turn holds lock: backup with no flock, then the lock goes", async (t) => {
  const node = await twoCts(t);
  // Each guest's backup lasts 2.5 s and the polls are 50 ms apart; the waits are long because
  // under the whole suite on two CPUs the tool's own start can take seconds.
  const job = runTool("vzdump", node.root, ["101", "102", "--mode", "snapshot"], { LOCKSTEP_SIM_VZDUMP_MS: "2500" });
  t.true(await eventually(() => lockOf(node.config(101)) === "backup", 20_000));
  t.is(lockOf(node.config(102)), undefined);
  // vzdump's lock_config holds the flock only while it writes `lock: backup`.
  t.true(await eventually(() => lockIsFree(node.lockFile(101)), 2000));
  t.true(await eventually(() => lockOf(node.config(102)) === "backup", 20_000));
  t.is(lockOf(node.config(101)), undefined);
  t.is((await job).code, 0);
  t.is(lockOf(node.config(102)), undefined);
});

// The interim in-process runner lists an empty id as 0; sim-core's worker writes it empty.
test("API2/VZDump.pm vzdump: a job of several guests is one task whose id field is empty", async (t) => {
  const node = await twoCts(t);
  await runTool("vzdump", node.root, ["101", "102"], { LOCKSTEP_SIM_VZDUMP_MS: "10" });
  t.regex(active(node.root), /^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:vzdump::root@pam: /m);
});

test("API2/VZDump.pm vzdump: a job of one guest is a task under its VMID", async (t) => {
  const node = await twoCts(t);
  await runTool("vzdump", node.root, ["101"], { LOCKSTEP_SIM_VZDUMP_MS: "10" });
  t.regex(active(node.root), /:vzdump:101:root@pam: /);
});

test("VZDump.pm exec_backup_task: the archive lands in the local dump dir", async (t) => {
  const node = await twoCts(t);
  await runTool("vzdump", node.root, ["101", "--compress", "zstd"], { LOCKSTEP_SIM_VZDUMP_MS: "10" });
  const files = readdirSync(path.join(node.root, "var/lib/vz/dump"));
  t.is(files.length, 1);
  t.regex(files[0]!, /^vzdump-lxc-101-\d{4}_\d\d_\d\d-\d\d_\d\d_\d\d\.tar\.zst$/);
});

test("VZDump.pm exec_backup_task: an already locked guest fails, the job goes on and ends with job errors", async (t) => {
  const node = await twoCts(t);
  await node.pct(["mount", "101"]);
  const result = await runTool("vzdump", node.root, ["101", "102"], { LOCKSTEP_SIM_VZDUMP_MS: "10" });
  t.is(result.code, 255);
  t.is(result.stderr, "job errors\n");
  t.is(lockOf(node.config(101)), "mounted");
  t.is(readdirSync(path.join(node.root, "var/lib/vz/dump")).filter((f) => f.includes("-102-")).length, 1);
  t.regex(active(node.root), / job errors$/m);
});

test("VZDump.pm exec_backup_task: a backup lock cleared meanwhile makes unlock_vm warn, the guest still succeeds", async (t) => {
  const node = await twoCts(t);
  const job = runTool("vzdump", node.root, ["101"], { LOCKSTEP_SIM_VZDUMP_MS: "1500" });
  t.true(await eventually(() => lockOf(node.config(101)) === "backup", 3000));
  t.is((await node.pct(["unlock", "101"])).code, 0);
  const result = await job;
  t.is(result.code, 0);
  t.regex(result.stdout, /^no lock found trying to remove 'backup' {2}lock$/m);
  t.regex(result.stdout, /^INFO: Finished Backup of VM 101 /m);
});
