import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { writeFaults } from "../src/index.js";
import { simNode, TEMPLATE } from "./sim-harness.js";

const volumes = (root: string): string[] => {
  const dir = path.join(root, "var/lib/lockstep-sim/storage/local-lvm");
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => n.startsWith("vm-"))
        .sort()
    : [];
};

test("a VMID held by a QEMU VM fails create with check_vmid_unused's VM text", async (t) => {
  // pve-cluster Cluster.pm check_vmid_unused: `$vmtypestr = $d->{type} eq 'qemu' ? 'VM' : 'CT'`.
  const node = simNode(t);
  await node.pct(["list"]);
  mkdirSync(path.join(node.root, "etc/pve/nodes/pve2/qemu-server"), { recursive: true });
  writeFileSync(path.join(node.root, "etc/pve/nodes/pve2/qemu-server/150.conf"), "name: vm\n");
  const result = await node.pct(["create", "150", TEMPLATE, "--storage", "local-lvm"]);
  t.is(result.stderr, "VM 150 already exists on node 'pve2'\n");
});

test("a create killed mid-build leaves its placeholder and its allocated volume", async (t) => {
  // pve-container API2/LXC.pm create_vm: create_disks runs while the config is the placeholder; only an
  // error caught in the worker runs destroy_disks, a killed worker cleans nothing.
  const node = simNode(t);
  writeFaults(node.root, [{ command: "create", action: "crash" }]);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  t.is(readFileSync(node.config(101), "utf8"), "lock: create\n");
  t.deepEqual(volumes(node.root), ["vm-101-disk-0"]);
});

test("a failed create destroys its disks and its config (create_vm's error path)", async (t) => {
  // create_vm: `PVE::LXC::destroy_disks($storage_cfg, $vollist); ... destroy_config($vmid); die "$emsg $err"`.
  const node = simNode(t);
  writeFaults(node.root, [{ command: "create", action: "fail", message: "extract failed" }]);
  const result = await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  t.is(result.stderr, "unable to create CT 101 - extract failed\n");
  t.false(existsSync(node.config(101)));
  t.deepEqual(volumes(node.root), []);
});

test("the config is written lock-free after OS detection, then completed with create_vm's defaults", async (t) => {
  // create_vm: write_config "# safe config (after OS detection)" has no hostname/memory/swap defaults.
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const config = readFileSync(node.config(101), "utf8");
  t.is(
    config,
    "arch: amd64\nhostname: CT101\nmemory: 512\nostype: debian\nrootfs: local-lvm:vm-101-disk-0,size=4G\nswap: 512\nunprivileged: 1\n",
  );
});

test("destroy frees only referenced volumes; --destroy-unreferenced-disks frees the VMID's others", async (t) => {
  // pve-container LXC.pm destroy_lxc_container: foreach_volume_full, then vdisk_list if $purge_unreferenced.
  const node = simNode(t);
  writeFaults(node.root, [{ command: "create", action: "crash", times: 1 }]);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  // destroy_vm's check_lock refuses `lock: create`: the leftover is unlocked first, as an operator would.
  await node.pct(["unlock", "101"]);
  t.is((await node.pct(["destroy", "101"])).code, 0);
  t.deepEqual(volumes(node.root), ["vm-101-disk-0"], "the placeholder references nothing");
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  t.deepEqual(volumes(node.root), ["vm-101-disk-0", "vm-101-disk-1"]);
  const result = await node.pct(["destroy", "101", "--destroy-unreferenced-disks", "1"]);
  t.is(result.code, 0, result.stderr);
  t.deepEqual(volumes(node.root), []);
  t.false(existsSync(node.config(101)));
});

test("a destroy killed while freeing volumes leaves the original config without lock: destroyed", async (t) => {
  // destroy_lxc_container frees volumes first; `write_config($vmid, { lock => 'destroyed' })` comes after.
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  writeFaults(node.root, [{ command: "destroy", action: "crash" }]);
  await node.pct(["destroy", "101"]);
  t.regex(readFileSync(node.config(101), "utf8"), /^rootfs: local-lvm:vm-101-disk-0/m);
  t.notRegex(readFileSync(node.config(101), "utf8"), /^lock:/m);
  t.deepEqual(volumes(node.root), []);
});

test("a full clone of a running container fails with the PVE 9 or PVE 8 text", async (t) => {
  // pve-container API2/LXC.pm clone_vm (master vs stable-bookworm).
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm", "--start", "1"]);
  t.is(
    (await node.pct(["clone", "101", "102"])).stderr,
    "Full clone of a running container is only possible from a snapshot\n",
  );
  t.is(
    (await node.pct(["clone", "101", "102"], { LOCKSTEP_SIM_PVE: "8" })).stderr,
    "Cannot do full clones on a running container without snapshots\n",
  );
  t.notRegex(readFileSync(node.config(101), "utf8"), /^lock:/m, "the disk lock is removed again");
  t.false(existsSync(node.config(102)), "the placeholder is removed again");
});

test("clone's copy takes time in proportion to the size, listed under the source VMID", async (t) => {
  // clone_vm: fork_worker('vzclone', $vmid, ...) with the SOURCE vmid; copy_volume copies the data.
  const node = simNode(t, { LOCKSTEP_SIM_COPY_MS_PER_GB: "300" });
  await node.pct(["create", "101", TEMPLATE, "--rootfs", "local-lvm:4"]);
  const result = await node.pct(["clone", "101", "102"]);
  t.is(result.code, 0, result.stderr);
  t.true(result.ms >= 1200, `a 4 GB copy at 300 ms/GB (${result.ms} ms)`);
  t.regex(readFileSync(path.join(node.root, "var/log/pve/tasks/active"), "utf8"), /:vzclone:101:root@pam:/);
  t.deepEqual(volumes(node.root), ["vm-101-disk-0", "vm-102-disk-0"]);
});
