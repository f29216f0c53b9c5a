import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { scratchDir, type TestScope } from "@lockstep/shared";
import { HypervisorUnresponsiveError } from "../../src/errors.js";
import { listClusterContainers, listClusterVms } from "../../src/node/cluster-vms.js";
import { clusterPaths } from "../../src/node/node-paths.js";
import { fakeClusterFs } from "./fake-cluster-fs.js";

function nodesWith(t: TestScope, files: string[]): string {
  const nodesDir = scratchDir(t, "lockstep-nodes");
  for (const file of files) {
    mkdirSync(path.dirname(path.join(nodesDir, file)), { recursive: true });
    writeFileSync(path.join(nodesDir, file), "name: vm\n");
  }
  return nodesDir;
}

test("every node's qemu-server configs are VMs of the cluster (pmxcfs memdb.c memdb_recreate_vmlist)", async (t) => {
  const nodesDir = nodesWith(t, ["pve1/qemu-server/150.conf", "pve2/qemu-server/120.conf", "pve1/lxc/101.conf"]);
  t.deepEqual(await listClusterVms({ nodesDir }, fakeClusterFs()), [
    { vmid: 120, node: "pve2" },
    { vmid: 150, node: "pve1" },
  ]);
});

test("only <vmid>.conf names without a leading zero are VM configs (memdb.c name_is_vm_config)", async (t) => {
  const nodesDir = nodesWith(t, [
    "pve1/qemu-server/0150.conf",
    "pve1/qemu-server/150.conf.tmp",
    "pve1/qemu-server/abc.conf",
    "pve1/qemu-server/151.conf",
  ]);
  t.deepEqual(await listClusterVms({ nodesDir }, fakeClusterFs()), [{ vmid: 151, node: "pve1" }]);
});

test("every node's lxc configs are the cluster's containers, each with the node holding it, wherever it moved", async (t) => {
  const nodesDir = nodesWith(t, [
    "pve1/lxc/101.conf",
    "pve3/lxc/102.conf",
    "pve2/qemu-server/120.conf",
    "pve1/lxc/103.conf.tmp.42",
  ]);
  t.deepEqual(await listClusterContainers({ nodesDir }, fakeClusterFs()), [
    { vmid: 101, node: "pve1" },
    { vmid: 102, node: "pve3" },
  ]);
});

test("a node without a qemu-server directory has no VMs", async (t) => {
  t.deepEqual(await listClusterVms({ nodesDir: nodesWith(t, ["pve1/lxc/101.conf"]) }, fakeClusterFs()), []);
});

test("a trusted cluster filesystem without a nodes directory has no VMs", async (t) => {
  t.deepEqual(await listClusterVms({ nodesDir: "/nonexistent/etc/pve/nodes" }, fakeClusterFs("ok")), []);
});

test("an unmounted cluster filesystem without a nodes directory is HYPERVISOR_UNRESPONSIVE, never an empty list", async (t) => {
  await t.throwsAsync(listClusterVms({ nodesDir: "/nonexistent/etc/pve/nodes" }, fakeClusterFs("not-mounted")), {
    instanceOf: HypervisorUnresponsiveError,
    message: /not-mounted/,
  });
});

test("on a real node the VMs are read from /etc/pve/nodes", (t) => {
  t.is(clusterPaths("/etc/pve/lxc").nodesDir, "/etc/pve/nodes");
});
