import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { startedCalls, writeFaults } from "../src/index.js";
import { lockIsFree, simNode, TEMPLATE } from "./sim-harness.js";
import type { TestScope } from "@lockstep/shared";

async function nodeWithSource(t: TestScope) {
  const node = simNode(t);
  await node.pct([
    "create",
    "100",
    TEMPLATE,
    "--storage",
    "local-lvm",
    "--hostname",
    "base",
    "--net0",
    "name=eth0,bridge=vmbr0",
    "--tags",
    "golden",
    "--description",
    "the base",
  ]);
  return node;
}

const rootfs = (root: string, vmid: number, file: string): string =>
  path.join(root, "var/lib/lxc", String(vmid), "rootfs", file);

test("clone copies the config and the root filesystem, stopped, with a new name and MAC", async (t) => {
  const node = await nodeWithSource(t);
  writeFileSync(rootfs(node.root, 100, "root/app.conf"), "app\n");
  await node.pct(["snapshot", "100", "before"]);
  const result = await node.pct(["clone", "100", "101", "--hostname", "web-2", "--description", "a clone"]);
  t.is(result.code, 0, result.stderr);
  // pve-container API2/LXC.pm clone_vm: the worker prints "creating a clone of container ..." first.
  t.is(
    result.stdout,
    'creating a clone of container 100 with ID 101\ncreate full clone of mountpoint rootfs (local-lvm:vm-100-disk-0)\n  Logical volume "vm-101-disk-0" created.\n',
  );
  const config = readFileSync(node.config(101), "utf8");
  t.regex(config, /^hostname: web-2$/m);
  t.regex(config, /^#a clone$/m);
  t.regex(config, /^tags: golden$/m);
  t.regex(config, /^rootfs: local-lvm:vm-101-disk-0,size=4G$/m);
  t.notRegex(config, /^(lock|parent):|^\[/m, "no lock, no parent, no snapshots");
  const mac = (text: string): string | undefined => /hwaddr=([0-9A-F:]+)/.exec(text)?.[1];
  t.not(mac(config), mac(readFileSync(node.config(100), "utf8")));
  t.is(readFileSync(rootfs(node.root, 101, "root/app.conf"), "utf8"), "app\n");
  t.is(readFileSync(rootfs(node.root, 101, "etc/hostname"), "utf8"), "web-2\n");
  t.is((await node.pct(["status", "101"])).stdout, "status: stopped\n");
  t.notRegex(readFileSync(node.config(100), "utf8"), /^lock:/m, "the source's lock: disk is gone");
  t.regex(
    readFileSync(path.join(node.root, "var/log/pve/tasks/active"), "utf8"),
    /:vzclone:100:root@pam: \S+ \S+ OK$/m,
  );
  t.is(startedCalls(node.root, "clone").length, 1);
});

test("clone of a missing source gets Proxmox's message and leaves nothing", async (t) => {
  const node = simNode(t);
  const result = await node.pct(["clone", "100", "101"]);
  t.is(result.code, 255);
  t.is(result.stderr, "Configuration file 'nodes/pve1/lxc/100.conf' does not exist\n");
  t.false(existsSync(node.config(101)));
});

test("clone onto an existing VMID fails as create does", async (t) => {
  const node = await nodeWithSource(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm", "--hostname", "other"]);
  const result = await node.pct(["clone", "100", "101"]);
  t.is(result.code, 255);
  t.is(result.stderr, "CT 101 already exists on node 'pve1'\n");
  t.regex(readFileSync(node.config(101), "utf8"), /^hostname: other$/m);
});

test("clone of a snapshot takes the snapshot's config; a missing snapshot is refused", async (t) => {
  const node = await nodeWithSource(t);
  await node.pct(["snapshot", "100", "small"]);
  await node.pct(["set", "100", "--memory", "2048"]);
  const missing = await node.pct(["clone", "100", "102", "--snapname", "nope"]);
  t.is(missing.code, 255);
  t.is(missing.stderr, "snapshot 'nope' does not exist\n");
  t.false(existsSync(node.config(102)), "the placeholder is removed again");
  t.notRegex(readFileSync(node.config(100), "utf8"), /^lock:/m);
  t.is((await node.pct(["clone", "100", "101", "--snapname", "small"])).code, 0);
  const config = readFileSync(node.config(101), "utf8");
  t.regex(config, /^memory: 512$/m);
  t.notRegex(config, /^snaptime:/m);
});

test("a crash mid-clone leaves lock: create on the new CT and lock: disk on the source", async (t) => {
  const node = await nodeWithSource(t);
  writeFaults(node.root, [{ command: "clone", action: "crash" }]);
  const result = await node.pct(["clone", "100", "101", "--description", "lockstep-owner=x"]);
  // The crash kills the task worker: pct sees no control message (RESTEnvironment.pm tee_worker,
  // "got unexpected control message") and exits 255.
  t.is(result.code, 255);
  t.regex(readFileSync(node.config(101), "utf8"), /^lock: create$/m);
  t.regex(readFileSync(node.config(100), "utf8"), /^lock: disk$/m);
  t.true(lockIsFree(node.lockFile(101)) && lockIsFree(node.lockFile(100)), "no flock outlives the process");
  t.is((await node.pct(["start", "100"])).stderr, "CT is locked (disk)\n");
});

test("raw lxc keys survive config rewrites and pct config prints them after the sorted keys", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm", "--hostname", "web-1"]);
  writeFileSync(node.config(101), `${readFileSync(node.config(101), "utf8")}lxc.apparmor.profile: unconfined\n`);
  t.is((await node.pct(["set", "101", "--memory", "1024"])).code, 0);
  t.regex(readFileSync(node.config(101), "utf8"), /^lxc\.apparmor\.profile: unconfined$/m);
  const lines = (await node.pct(["config", "101"])).stdout.trimEnd().split("\n");
  t.is(lines.at(-1), "lxc.apparmor.profile: unconfined");
  t.deepEqual(lines.slice(0, -1), [...lines.slice(0, -1)].sort());
  const refused = await node.pct(["set", "101", "--lxc.apparmor.profile", "unconfined"]);
  t.is(refused.code, 255, "pct set refuses raw keys, as on Proxmox");
});
