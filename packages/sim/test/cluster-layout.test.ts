// The simulated cluster's shared filesystem as each node sees it: pve-cluster
// src/PVE/Cluster.pm check_vmid_unused and check_node_exists, src/pmxcfs/pmxcfs.c
// create_symlinks, src/pmxcfs/status.c cfs_create_memberlist_msg, src/PVE/Corosync.pm
// create_conf/write_conf, src/PVE/Cluster/Setup.pm gen_local_dirs.
import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { scratchDir } from "@lockstep/shared";
import { parseCorosyncConf, simPctBin } from "../src/index.js";
import { testCluster } from "./cluster-harness.js";
import { runExecutable } from "./sim-harness.js";
import { TEMPLATE } from "./sim-harness.js";

const create = ["--storage", "local-lvm"];

test("Cluster.pm check_vmid_unused: a CT's VMID is refused on every other node of the cluster", async (t) => {
  const { nodes } = testCluster(t, 3);
  t.is((await nodes[0]!.pct(["create", "101", TEMPLATE, ...create])).code, 0);
  const result = await nodes[2]!.pct(["create", "101", TEMPLATE, ...create]);
  t.is(result.code, 255);
  t.is(result.stderr, "CT 101 already exists on node 'pve1'\n");
});

test("Cluster.pm check_vmid_unused: a QEMU VM on another node holds its VMID too", async (t) => {
  const { nodes } = testCluster(t, 3);
  t.is((await nodes[1]!.tool("qm", ["create", "150"])).code, 0);
  const result = await nodes[2]!.pct(["create", "150", TEMPLATE, ...create]);
  t.is(result.stderr, "VM 150 already exists on node 'pve2'\n");
});

test("pct list shows only the local node's containers", async (t) => {
  const { nodes } = testCluster(t, 2);
  await nodes[0]!.pct(["create", "101", TEMPLATE, ...create]);
  await nodes[1]!.pct(["create", "102", TEMPLATE, ...create]);
  const list = await nodes[1]!.pct(["list"]);
  t.regex(list.stdout, /^102 /m);
  t.notRegex(list.stdout, /^101 /m);
});

test("pmxcfs.c create_symlinks: local, lxc, qemu-server and openvz link into the node's own directory", (t) => {
  const { nodes } = testCluster(t, 2);
  const pve = path.join(nodes[1]!.root, "etc/pve");
  t.is(readlinkSync(path.join(pve, "local")), "nodes/pve2");
  t.is(readlinkSync(path.join(pve, "lxc")), "nodes/pve2/lxc");
  t.is(readlinkSync(path.join(pve, "qemu-server")), "nodes/pve2/qemu-server");
  t.is(readlinkSync(path.join(pve, "openvz")), "nodes/pve2/openvz");
});

test("without a pmxcfs mount, /etc/pve's shared entries link into the cluster directory", (t) => {
  const { dir, nodes } = testCluster(t, 2);
  const pve = path.join(nodes[0]!.root, "etc/pve");
  for (const name of ["nodes", "priv", "ha", "storage.cfg", "corosync.conf"])
    t.is(readlinkSync(path.join(pve, name)), path.join(dir, name), name);
  t.true(lstatSync(path.join(dir, "nodes/pve2/lxc")).isDirectory());
});

test("Setup.pm gen_local_dirs: every member has lxc, qemu-server, openvz and priv in the cluster directory", (t) => {
  const { dir } = testCluster(t, 3);
  for (const node of ["pve1", "pve2", "pve3"])
    for (const sub of ["lxc", "qemu-server", "openvz", "priv"])
      t.true(lstatSync(path.join(dir, "nodes", node, sub)).isDirectory(), `${node}/${sub}`);
});

test("Corosync.pm write_conf: corosync.conf names the cluster and its members with their nodeids", (t) => {
  const { dir } = testCluster(t, 3);
  const text = readFileSync(path.join(dir, "corosync.conf"), "utf8");
  t.regex(text, /^totem \{\n {2}cluster_name: lockstep-sim\n {2}config_version: 3\n/m);
  const conf = parseCorosyncConf(text);
  t.deepEqual(
    conf.nodes.map((n) => [n.name, n.nodeid]),
    [
      ["pve1", 1],
      ["pve2", 2],
      ["pve3", 3],
    ],
  );
});

test("status.c cfs_create_memberlist_msg: .members names this node, the cluster and every member", (t) => {
  const { nodes } = testCluster(t, 3);
  const text = readFileSync(path.join(nodes[1]!.root, "etc/pve/.members"), "utf8");
  t.regex(
    text,
    /^\{\n"nodename": "pve2",\n"version": 3,\n"cluster": \{ "name": "lockstep-sim", "version": 3, "nodes": 3, "quorate": 1 \},\n"nodelist": \{\n {2}"pve1": \{ "id": 1, "online": 1, "ip": "127.0.0.1"\},\n/,
  );
  const members = JSON.parse(text) as { nodelist: Record<string, { id: number }> };
  t.deepEqual(Object.keys(members.nodelist), ["pve1", "pve2", "pve3"]);
});

test("a node that joins later shows up in the .members of the nodes already there", async (t) => {
  const { dir, nodes } = testCluster(t, 1);
  const root = scratchDir(t, "sim-join");
  const joined = await runExecutable(simPctBin, ["list"], {
    ...process.env,
    LOCKSTEP_SIM_ROOT: root,
    LOCKSTEP_SIM_NODE: "pve7",
    LOCKSTEP_SIM_CLUSTER: dir,
  });
  t.is(joined.code, 0);
  await nodes[0]!.pct(["list"]);
  const members = JSON.parse(readFileSync(path.join(nodes[0]!.root, "etc/pve/.members"), "utf8")) as {
    nodelist: Record<string, unknown>;
  };
  t.deepEqual(Object.keys(members.nodelist), ["pve1", "pve7"]);
});

test("a node alone (no LOCKSTEP_SIM_CLUSTER) keeps /etc/pve to itself, with pmxcfs's links and a memberless .members", async (t) => {
  const root = scratchDir(t, "sim-alone");
  const env = { ...process.env, LOCKSTEP_SIM_ROOT: root };
  t.is((await runExecutable(simPctBin, ["create", "101", TEMPLATE, ...create], env)).code, 0);
  t.true(lstatSync(path.join(root, "etc/pve/nodes")).isDirectory());
  t.is(readlinkSync(path.join(root, "etc/pve/local")), "nodes/pve1");
  t.is(readFileSync(path.join(root, "etc/pve/.members"), "utf8"), '{\n"nodename": "pve1",\n"version": 0\n}\n');
  t.regex(readFileSync(path.join(root, "etc/pve/lxc/101.conf"), "utf8"), /^rootfs: local-lvm:vm-101-disk-0/m);
});

test("Cluster.pm check_node_exists: a node alone knows no other node to migrate to", async (t) => {
  const root = scratchDir(t, "sim-alone");
  const env = { ...process.env, LOCKSTEP_SIM_ROOT: root };
  await runExecutable(simPctBin, ["create", "101", TEMPLATE, ...create], env);
  const result = await runExecutable(simPctBin, ["migrate", "101", "pve2"], env);
  t.is(result.code, 255);
  t.is(result.stderr, "no such cluster node 'pve2'\n");
});

test("a node's root laid out for one cluster refuses to serve another", async (t) => {
  const { nodes } = testCluster(t, 1);
  const other = scratchDir(t, "sim-other");
  const result = await nodes[0]!.pct(["list"], { LOCKSTEP_SIM_CLUSTER: other });
  t.is(result.code, 2);
  t.regex(result.stderr, /belongs to cluster '.*', not '.*' \(LOCKSTEP_SIM_CLUSTER\)/);
});
