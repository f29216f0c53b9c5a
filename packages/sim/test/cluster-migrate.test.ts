// `pct migrate`: pve-container src/PVE/API2/LXC.pm migrate_vm, src/PVE/LXC/Migrate.pm
// (prepare, phase1, phase1_cleanup, phase3, final_cleanup), pve-guest-common
// src/PVE/AbstractMigrate.pm migrate and src/PVE/AbstractConfig.pm move_config_to_node,
// pve-storage src/PVE/Storage.pm storage_migrate.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { MIGRATE_CALLER, readCalls, simPctBin } from "../src/index.js";
import { testCluster } from "./cluster-harness.js";
import { eventually, TEMPLATE } from "./sim-harness.js";
import type { TestScope } from "@lockstep/shared";

const FAST = { LOCKSTEP_SIM_COPY_MS_PER_GB: "10" };

async function clusterWithCt(t: TestScope, start = false) {
  const cluster = testCluster(t, 2, FAST);
  const [pve1] = cluster.nodes;
  const created = await pve1!.pct(["create", "101", TEMPLATE, "--storage", "local-lvm", "--hostname", "web-1"]);
  if (created.code !== 0) throw new Error(created.stderr);
  if (start && (await pve1!.pct(["start", "101"])).code !== 0) throw new Error("start failed");
  return cluster;
}

const volumeFile = (root: string, vmid = 101): string =>
  path.join(root, "var/lib/lockstep-sim/storage/local-lvm", `vm-${vmid}-disk-0`);

test("Migrate.pm phase1: an offline migration renames the config into the target node's directory, without its lock", async (t) => {
  const { nodes, killWorkers } = await clusterWithCt(t);
  t.teardown(killWorkers);
  const [pve1, pve2] = nodes;
  const result = await pve1!.pct(["migrate", "101", "pve2"]);
  t.is(result.code, 0, result.stderr);
  t.is(pve1!.config(101), null);
  const moved = pve2!.config(101)!;
  t.regex(moved, /^hostname: web-1$/m);
  t.notRegex(moved, /^lock:/m);
  t.regex((await pve2!.pct(["list"])).stdout, /^101 +stopped/m);
  t.is((await pve1!.pct(["list"])).stdout, "");
});

test("Storage.pm storage_migrate and Migrate.pm phase3: the volume moves to the target node's storage and the source copy is freed", async (t) => {
  const { nodes, killWorkers } = await clusterWithCt(t);
  t.teardown(killWorkers);
  const [pve1, pve2] = nodes;
  await pve1!.pct(["migrate", "101", "pve2"]);
  t.true(existsSync(volumeFile(pve2!.root)));
  t.false(existsSync(volumeFile(pve1!.root)));
  t.regex(pve2!.config(101)!, /^rootfs: local-lvm:vm-101-disk-0,size=/m);
});

test("the container's files go with it to the target node", async (t) => {
  const { nodes, killWorkers } = await clusterWithCt(t);
  t.teardown(killWorkers);
  const [pve1, pve2] = nodes;
  await pve1!.pct(["migrate", "101", "pve2"]);
  t.is(readFileSync(path.join(pve2!.root, "var/lib/lxc/101/rootfs/etc/hostname"), "utf8"), "web-1\n");
  t.false(existsSync(path.join(pve1!.root, "var/lib/lxc/101")));
});

test("AbstractMigrate.pm migrate: a vzmigrate task on the source node logs each step with a timestamp", async (t) => {
  const { nodes, killWorkers } = await clusterWithCt(t);
  t.teardown(killWorkers);
  const [pve1, pve2] = nodes;
  const result = await pve1!.pct(["migrate", "101", "pve2"]);
  t.regex(pve1!.active(), /^UPID:pve1:[0-9A-F]+:[0-9A-F]+:[0-9A-F]+:vzmigrate:101:root@pam: 1 [0-9A-F]+ OK$/m);
  t.notRegex(pve2!.active(), /vzmigrate/);
  const stamp = String.raw`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`;
  for (const line of [
    "starting migration of CT 101 to node 'pve2' \\(127\\.0\\.0\\.2\\)",
    "found local volume 'local-lvm:vm-101-disk-0' \\(in current VM config\\)",
    "volume 'local-lvm:vm-101-disk-0' is 'local-lvm:vm-101-disk-0' on the target",
    "start final cleanup",
    "migration finished successfully \\(duration 00:00:\\d\\d\\)",
  ]) {
    t.regex(result.stdout, new RegExp(`^${stamp} ${line}$`, "m"));
  }
});

test("Migrate.pm final_cleanup: the target's migrate lock is cleared by `pct unlock` run on the target", async (t) => {
  const { nodes, killWorkers } = await clusterWithCt(t);
  t.teardown(killWorkers);
  const [pve1, pve2] = nodes;
  await pve1!.pct(["migrate", "101", "pve2"]);
  const unlocked = readCalls(pve2!.root).filter((c) => c.event === "unlocked");
  t.deepEqual(
    unlocked.map((c) => c.event === "unlocked" && [c.vmid, c.lock, c.caller]),
    [[101, "migrate", MIGRATE_CALLER]],
  );
});

test("Migrate.pm prepare: restart mode shuts a running CT down, moves it and starts it on the target", async (t) => {
  const { nodes, killWorkers } = await clusterWithCt(t, true);
  t.teardown(killWorkers);
  const [pve1, pve2] = nodes;
  const result = await pve1!.pct(["migrate", "101", "pve2", "--restart"]);
  t.is(result.code, 0, result.stdout);
  t.regex(result.stdout, /^\S+ \S+ shutdown CT 101$/m);
  t.notRegex(result.stdout, / ERROR: /);
  t.regex(
    result.stdout,
    / start container on target node\n.* # \/usr\/bin\/ssh -e none -o 'BatchMode=yes' -o 'HostKeyAlias=pve2' root@127\.0\.0\.2 pct start 101\n/,
  );
  t.true(pve2!.running(101));
  t.false(pve1!.running(101));
  t.regex(pve2!.active(), /:vzstart:101:root@pam: 1 [0-9A-F]+ OK$/m);
});

test("API2/LXC.pm migrate_vm: a running CT is refused without --restart, before any task", async (t) => {
  const { nodes, killWorkers } = await clusterWithCt(t, true);
  t.teardown(killWorkers);
  const [pve1] = nodes;
  const result = await pve1!.pct(["migrate", "101", "pve2"]);
  t.is(result.code, 255);
  t.is(result.stderr, "can't migrate running container without --online or --restart\n");
  t.notRegex(pve1!.active(), /vzmigrate/);
});

test("API2/LXC.pm migrate_vm: the local node is refused as target", async (t) => {
  const { nodes } = await clusterWithCt(t);
  const result = await nodes[0]!.pct(["migrate", "101", "pve1"]);
  t.is(result.code, 255);
  t.is(result.stderr, "400 Parameter verification failed.\ntarget: target is local node.\n");
});

test("Cluster.pm check_node_exists: an unknown target node is refused", async (t) => {
  const { nodes } = await clusterWithCt(t);
  const result = await nodes[0]!.pct(["migrate", "101", "pve9"]);
  t.is(result.stderr, "no such cluster node 'pve9'\n");
  t.not(nodes[0]!.config(101), null);
});

test("API2/LXC.pm migrate_vm: a CT this node does not hold is refused", async (t) => {
  const { nodes } = await clusterWithCt(t);
  const result = await nodes[1]!.pct(["migrate", "101", "pve1"]);
  t.is(result.stderr, "Configuration file 'nodes/pve2/lxc/101.conf' does not exist\n");
});

test("Migrate.pm prepare: a locked CT is not migrated and keeps its lock", async (t) => {
  const { nodes, killWorkers } = await clusterWithCt(t);
  t.teardown(killWorkers);
  const [pve1] = nodes;
  await pve1!.pct(["mount", "101"]);
  const result = await pve1!.pct(["migrate", "101", "pve2"]);
  t.is(result.code, 255);
  t.is(result.stderr, "migration aborted\n");
  t.regex(result.stdout, / ERROR: migration aborted \(duration 00:00:\d\d\): CT is locked \(mounted\)\n/);
  t.regex(pve1!.config(101)!, /^lock: mounted$/m);
});

test("AbstractMigrate.pm migrate: a migrate worker killed midway leaves `lock: migrate` on the source's config", async (t) => {
  const { nodes, killWorkers } = await clusterWithCt(t);
  t.teardown(killWorkers);
  const [pve1, pve2] = nodes;
  const result = await pve1!.pct(["migrate", "101", "pve2"], {
    LOCKSTEP_SIM_FAULTS: JSON.stringify([{ command: "migrate", action: "crash" }]),
  });
  t.is(result.code, 255);
  t.regex(pve1!.config(101)!, /^lock: migrate$/m);
  t.is(pve2!.config(101, "pve2"), null);
  const retry = await pve1!.pct(["migrate", "101", "pve2"]);
  t.regex(retry.stdout, /CT is locked \(migrate\)/);
});

test("Migrate.pm phase1_cleanup and final_cleanup: a phase1 that fails removes the migrate lock and leaves the CT where it was", async (t) => {
  const { nodes, killWorkers } = await clusterWithCt(t);
  t.teardown(killWorkers);
  const [pve1] = nodes;
  const result = await pve1!.pct(["migrate", "101", "pve2"], {
    LOCKSTEP_SIM_FAULTS: JSON.stringify([
      { command: "migrate", action: "fail", message: "ssh: connect to host 127.0.0.2 port 22: Connection refused" },
    ]),
  });
  t.is(result.code, 255);
  t.regex(result.stdout, / aborting phase 1 - cleanup resources\n.* start final cleanup\n/s);
  t.regex(result.stdout, / ERROR: migration aborted \(duration 00:00:\d\d\): ssh: connect to host/);
  t.notRegex(pve1!.config(101)!, /^lock:/m);
});

test("API2/LXC.pm migrate_vm: a target storage without CT rootdirs is refused before any task", async (t) => {
  const { nodes } = await clusterWithCt(t);
  const result = await nodes[0]!.pct(["migrate", "101", "pve2", "--target-storage", "local"]);
  t.is(result.code, 255);
  t.is(result.stderr, "storage 'local' does not support CT rootdirs\n");
  t.notRegex(nodes[0]!.active(), /vzmigrate/);
});

test("AbstractMigrate.pm $eval_int: a pct that gets SIGTERM mid-phase1 ends the migration `interrupted by signal`, its lock removed", async (t) => {
  const { nodes, killWorkers } = await clusterWithCt(t);
  t.teardown(killWorkers);
  const [pve1] = nodes;
  const env = {
    ...process.env,
    ...pve1!.env,
    ...FAST,
    LOCKSTEP_SIM_FAULTS: JSON.stringify([{ command: "migrate", action: "hang" }]),
  };
  const child = spawn(process.execPath, [simPctBin, "migrate", "101", "pve2"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  child.stdout.on("data", (d) => (stdout += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  t.true(await eventually(() => /^lock: migrate$/m.test(pve1!.config(101) ?? ""), 10_000));
  child.kill("SIGTERM");
  t.is(await exited, 255);
  t.regex(stdout, / ERROR: interrupted by signal\n/);
  t.regex(stdout, / ERROR: migration aborted \(duration 00:00:\d\d\): interrupted by signal\n/);
  t.notRegex(pve1!.config(101)!, /^lock:/m);
});
