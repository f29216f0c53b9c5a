// The simulated pmxcfs serving a cluster directory to two nodes: pve-cluster src/pmxcfs/pmxcfs.c
// (create_symlinks, cfs_fuse_getattr), cfs-plug-memdb.c (tree_entry_stat), memdb.c
// (memdb_write, memdb_rename), status.c (cfs_create_memberlist_msg, cfs_create_vmlist_msg).
import test from "ava";
import { SuiteScope } from "@lockstep/shared";
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, renameSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fuseMountAt } from "../src/pmxcfs/mount-table.js";
import { ctConfig, pmxcfsCluster, prepareFuse, unmountAll } from "./pmxcfs-harness.js";

const fuse = prepareFuse();
const it = fuse.ok ? test.serial : test.serial.skip;
if (!fuse.ok) console.log(`pmxcfs tests skipped: ${fuse.reason}`);

// The directories live as long as the file's tests, and stay when one failed.
const suite = new SuiteScope();
const { cluster, nodes } = pmxcfsCluster(["pve1", "pve2"], suite);
const [pve1, pve2] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];

test.before(async () => {
  if (!fuse.ok) return;
  writeFileSync(path.join(cluster, "corosync.conf"), COROSYNC);
  for (const node of nodes) await node.control("mount");
});

test.afterEach.always((t) => suite.noteResult(t));

test.after.always(async (t) => {
  if (fuse.ok) t.true(await unmountAll(nodes), "a mount was left behind");
  await suite.close();
});

it("both nodes' /etc/pve are FUSE mounts (pmxcfs.c: fuse_mount on CFSDIR)", (t) => {
  for (const node of nodes) t.truthy(fuseMountAt(node.pve), node.pve);
});

it("a file written through one node's mount lands in the cluster directory and another node reads it (one memdb for the cluster)", (t) => {
  writeFileSync(path.join(pve1.pve, "nodes/pve1/lxc/101.conf"), ctConfig("web-1"));
  t.is(readFileSync(path.join(cluster, "nodes/pve1/lxc/101.conf"), "utf8"), ctConfig("web-1"));
  t.is(readFileSync(path.join(pve2.pve, "nodes/pve1/lxc/101.conf"), "utf8"), ctConfig("web-1"));
});

it("each node sees its own per-node links (pmxcfs.c create_symlinks)", (t) => {
  t.is(readlinkSync(path.join(pve1.pve, "local")), "nodes/pve1");
  t.is(readlinkSync(path.join(pve1.pve, "lxc")), "nodes/pve1/lxc");
  t.is(readlinkSync(path.join(pve1.pve, "qemu-server")), "nodes/pve1/qemu-server");
  t.is(readlinkSync(path.join(pve1.pve, "openvz")), "nodes/pve1/openvz");
  t.is(readlinkSync(path.join(pve2.pve, "local")), "nodes/pve2");
  writeFileSync(path.join(pve2.pve, "lxc/202.conf"), ctConfig("db-1"));
  t.is(readFileSync(path.join(cluster, "nodes/pve2/lxc/202.conf"), "utf8"), ctConfig("db-1"));
});

it("the root lists the links and dot files first and hides the simulator's bookkeeping (cfs_plug_base_readdir)", (t) => {
  // Node's readdir sorts (libuv scandir); `ls -f` keeps the order the filesystem gives.
  const listed = spawnSync("ls", ["-1", "-f", pve1.pve], { encoding: "utf8" }).stdout.split("\n");
  const names = listed.filter((name) => name !== "" && name !== "." && name !== "..");
  t.deepEqual(names.slice(0, 6), ["local", "qemu-server", "openvz", "lxc", ".members", ".vmlist"]);
  t.true(names.includes("nodes") && names.includes("corosync.conf"));
});

it("quorate modes: directories and links 0755, files 0640, group www-data (tree_entry_stat masked by cfs_fuse_getattr)", (t) => {
  const mode = (p: string): number => lstatSync(path.join(pve1.pve, p)).mode & 0o7777;
  t.is(mode("nodes"), 0o755);
  t.is(mode("local"), 0o755);
  t.is(mode("corosync.conf"), 0o640);
  t.is(mode("nodes/pve1/priv"), 0o700);
  t.is(lstatSync(path.join(pve1.pve, "corosync.conf")).gid, 33);
});

it("a config written to a temporary file and renamed replaces the old one whole (memdb_rename, as file_set_contents writes)", (t) => {
  const file = path.join(pve1.pve, "nodes/pve1/lxc/103.conf");
  writeFileSync(file, ctConfig("old"));
  writeFileSync(`${file}.tmp.42`, ctConfig("new"));
  renameSync(`${file}.tmp.42`, file);
  t.is(readFileSync(path.join(pve2.pve, "nodes/pve1/lxc/103.conf"), "utf8"), ctConfig("new"));
  t.false(readdirSync(path.join(cluster, "nodes/pve1/lxc")).some((n) => n.includes(".tmp")));
});

it("a config for a VMID another node holds is refused with EEXIST (memdb_write: vmlist_different_vm_exists)", (t) => {
  writeFileSync(path.join(pve1.pve, "nodes/pve1/lxc/104.conf"), ctConfig("mine"));
  const err = t.throws(() => writeFileSync(path.join(pve2.pve, "nodes/pve2/lxc/104.conf"), ctConfig("theirs")));
  t.is((err as NodeJS.ErrnoException).code, "EEXIST");
  const tmp = path.join(pve2.pve, "nodes/pve2/qemu-server/104.conf.tmp.7");
  writeFileSync(tmp, "name: vm\n");
  const renamed = t.throws(() => renameSync(tmp, path.join(pve2.pve, "nodes/pve2/qemu-server/104.conf")));
  t.is((renamed as NodeJS.ErrnoException).code, "EEXIST");
});

it("a guest's own config may move to another node's directory (memdb_rename: same VMID, as migration moves it)", (t) => {
  writeFileSync(path.join(pve1.pve, "nodes/pve1/lxc/105.conf"), ctConfig("moving"));
  renameSync(path.join(pve1.pve, "nodes/pve1/lxc/105.conf"), path.join(pve1.pve, "nodes/pve2/lxc/105.conf"));
  t.is(readFileSync(path.join(pve2.pve, "lxc/105.conf"), "utf8"), ctConfig("moving"));
});

it(".members lists the corosync nodes as pmxcfs prints them (status.c cfs_create_memberlist_msg)", (t) => {
  const members = readFileSync(path.join(pve2.pve, ".members"), "utf8");
  t.is(
    members,
    '{\n"nodename": "pve2",\n"version": 3,\n"cluster": { "name": "lab", "version": 3, "nodes": 2, "quorate": 1 },\n"nodelist": {\n' +
      '  "pve1": { "id": 1, "online": 1, "ip": "127.0.0.1"},\n  "pve2": { "id": 2, "online": 1, "ip": "127.0.0.2"}\n  }\n}\n',
  );
  t.is(lstatSync(path.join(pve2.pve, ".members")).mode & 0o777, 0o440);
});

it(".vmlist names every guest's node and type (status.c cfs_create_vmlist_msg)", (t) => {
  writeFileSync(path.join(pve2.pve, "nodes/pve2/qemu-server/300.conf"), "name: vm\n");
  const vmlist = JSON.parse(readFileSync(path.join(pve1.pve, ".vmlist"), "utf8")) as {
    ids: Record<string, { node: string; type: string }>;
  };
  t.like(vmlist.ids["101"], { node: "pve1", type: "lxc" });
  t.like(vmlist.ids["202"], { node: "pve2", type: "lxc" });
  t.like(vmlist.ids["300"], { node: "pve2", type: "qemu" });
});

const COROSYNC = `logging {
  debug: off
  to_syslog: yes
}

nodelist {
  node {
    name: pve1
    nodeid: 1
    quorum_votes: 1
    ring0_addr: 127.0.0.1
  }
  node {
    name: pve2
    nodeid: 2
    quorum_votes: 1
    ring0_addr: 127.0.0.2
  }
}

quorum {
  provider: corosync_votequorum
}

totem {
  cluster_name: lab
  config_version: 3
  interface {
    linknumber: 0
  }
  ip_version: ipv4-6
  secauth: on
  version: 2
}
`;

it("many writes at once through one mount all complete: each holds the cluster's write lock with a descriptor of its own", async (t) => {
  const files = Array.from({ length: 40 }, (_, i) => path.join(pve1.pve, `nodes/pve1/lxc/${810 + i}.conf`));
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("stuck"), 20_000)));
  const written = Promise.all(files.map((file) => writeFile(file, ctConfig(path.basename(file))))).then(
    () => "written",
  );
  t.is(await Promise.race([written, stuck]), "written");
  clearTimeout(timer);
  // And the lock is free again: one more write goes through.
  writeFileSync(path.join(pve1.pve, "nodes/pve1/lxc/899.conf"), ctConfig("last"));
  t.true(existsSync(path.join(cluster, "nodes/pve1/lxc/899.conf")));
});
