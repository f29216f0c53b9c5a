import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { simNode, TEMPLATE } from "./sim-harness.js";

const volume = (root: string, storage: string, name: string): string =>
  path.join(root, "var/lib/lockstep-sim/storage", storage, name);

/** A storage.cfg with a fresh install's two storages and `extra`. */
function writeStorageCfg(root: string, extra: string): void {
  mkdirSync(path.join(root, "etc/pve"), { recursive: true });
  writeFileSync(
    path.join(root, "etc/pve/storage.cfg"),
    `dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\nlvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\tcontent rootdir,images\n\n${extra}`,
  );
}

test("a new node has a fresh install's storage.cfg: dir local without rootdir, lvmthin local-lvm with it", async (t) => {
  // pve-storage Storage.pm reads /etc/pve/storage.cfg; a fresh LVM install defines local and local-lvm.
  const node = simNode(t);
  await node.pct(["list"]);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const cfg = readFileSync(path.join(node.root, "etc/pve/storage.cfg"), "utf8");
  t.regex(cfg, /^dir: local\n\tpath \/var\/lib\/vz\n\tcontent iso,vztmpl,backup$/m);
  t.regex(cfg, /^lvmthin: local-lvm\n(\t.*\n)*\tcontent rootdir,images$/m);
});

test("create without --storage uses 'local', which does not support container directories", async (t) => {
  // pve-container API2/LXC.pm create_vm: `$storage = extract_param($param, 'storage') // 'local'`, then
  // $check_and_activate_storage raises a parameter exception before create_and_lock_config.
  const node = simNode(t);
  const result = await node.pct(["create", "101", TEMPLATE]);
  t.is(result.code, 255);
  t.is(
    result.stderr,
    "400 Parameter verification failed.\nstorage: storage 'local' does not support container directories\n",
  );
  t.false(existsSync(node.config(101)), "no placeholder: the check runs before create_and_lock_config");
});

test("create on an unknown storage fails with pve-storage's 'does not exist' before any placeholder", async (t) => {
  // pve-storage Storage.pm storage_config: die "storage '$storeid' does not exist\n".
  const node = simNode(t);
  const result = await node.pct(["create", "101", TEMPLATE, "--rootfs", "nowhere:8"]);
  t.is(result.stderr, "storage 'nowhere' does not exist\n");
  t.false(existsSync(node.config(101)));
});

test("volumes are files named as find_free_diskname does: the first free number, per storage type", async (t) => {
  // pve-storage Plugin.pm get_next_vm_diskname; pve-container LXC.pm alloc_disk (subvol on zfspool).
  const node = simNode(t);
  await node.pct(["list"]);
  mkdirSync(volume(node.root, "local-lvm", ""), { recursive: true });
  writeFileSync(volume(node.root, "local-lvm", "vm-101-disk-0"), JSON.stringify({ sizeGb: 8, snapshots: [] }));
  writeStorageCfg(node.root, "zfspool: local-zfs\n\tpool rpool/data\n\tcontent rootdir,images\n");
  await node.pct(["create", "101", TEMPLATE, "--rootfs", "local-lvm:8"]);
  t.regex(
    readFileSync(node.config(101), "utf8"),
    /^rootfs: local-lvm:vm-101-disk-1,size=8G$/m,
    "disk-0 is taken by a leftover",
  );
  await node.pct(["create", "102", TEMPLATE, "--rootfs", "local-zfs:2"]);
  t.regex(readFileSync(node.config(102), "utf8"), /^rootfs: local-zfs:subvol-102-disk-0,size=2G$/m);
  t.true(existsSync(volume(node.root, "local-zfs", "subvol-102-disk-0")));
});

test("snapshot on an lvm (thick) storage fails: snapshot feature is not available", async (t) => {
  // pve-storage LVMPlugin.pm volume_has_feature: snapshots only for qcow2; a CT disk is raw.
  // pve-guest-common AbstractConfig.pm __snapshot_prepare: die "snapshot feature is not available\n".
  const node = simNode(t);
  await node.pct(["list"]);
  writeStorageCfg(node.root, "lvm: thick\n\tvgname vg0\n\tcontent rootdir,images\n");
  await node.pct(["create", "101", TEMPLATE, "--rootfs", "thick:4"]);
  const result = await node.pct(["snapshot", "101", "s1"]);
  t.is(result.code, 255);
  t.is(result.stderr, "snapshot feature is not available\n");
  t.notRegex(readFileSync(node.config(101), "utf8"), /lock:|\[s1\]/, "prepare died before writing");
});
