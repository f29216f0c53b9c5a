// QEMU VMs share the VMID space: pve-cluster src/PVE/Cluster.pm check_vmid_unused, VM configs
// in /etc/pve/nodes/<node>/qemu-server/<vmid>.conf.
import { existsSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { guestOfVmid, vmidInUseMessage } from "../src/node/guest-of-vmid.js";
import { simLayout } from "../src/index.js";
import { simNode, TEMPLATE } from "./sim-harness.js";
import { runTool } from "./tool-run.js";

test("qm create writes the VM config under nodes/<node>/qemu-server", async (t) => {
  const node = simNode(t);
  t.is((await runTool("qm", node.root, ["create", "150", "--name", "vm1"])).code, 0);
  t.true(existsSync(path.join(node.root, "etc/pve/nodes/pve1/qemu-server/150.conf")));
});

test("pct list ignores QEMU VMs", async (t) => {
  const node = simNode(t);
  await runTool("qm", node.root, ["create", "150", "--name", "vm1"]);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const list = (await node.pct(["list"])).stdout;
  t.false(list.includes("150"));
  t.true(list.includes("101"));
});

test("qm list shows the VM", async (t) => {
  const node = simNode(t);
  await runTool("qm", node.root, ["create", "150", "--name", "vm1"]);
  t.regex((await runTool("qm", node.root, ["list"])).stdout, /^\s+150 vm1\s+stopped/m);
});

test("Cluster.pm check_vmid_unused: a VM's VMID is held by a VM (guestOfVmid / its message)", async (t) => {
  const node = simNode(t);
  await runTool("qm", node.root, ["create", "150", "--name", "vm1"]);
  const layout = simLayout(node.root);
  t.deepEqual(guestOfVmid(layout, 150), { type: "qemu", node: "pve1" });
  t.is(vmidInUseMessage(layout, 150), "VM 150 already exists on node 'pve1'");
});

test("Cluster.pm check_vmid_unused: qm create on a CT's VMID fails with CT <id> already exists", async (t) => {
  const node = simNode(t);
  await node.pct(["create", "101", TEMPLATE, "--storage", "local-lvm"]);
  const result = await runTool("qm", node.root, ["create", "101"]);
  t.is(result.code, 255);
  t.is(result.stderr, "unable to create VM 101 - CT 101 already exists on node 'pve1'\n");
});

// create_vm calls check_vmid_unused before create_and_lock_config, outside its `$emsg` prefix.
test("API2/LXC.pm create_vm: pct create on a VM's VMID fails with VM <id> already exists", async (t) => {
  const node = simNode(t);
  await runTool("qm", node.root, ["create", "150", "--name", "vm1"]);
  const result = await node.pct(["create", "150", TEMPLATE, "--storage", "local-lvm"]);
  t.is(result.code, 255);
  t.is(result.stderr, "VM 150 already exists on node 'pve1'\n");
});

test("qm destroy removes the VM config", async (t) => {
  const node = simNode(t);
  await runTool("qm", node.root, ["create", "150"]);
  t.is((await runTool("qm", node.root, ["destroy", "150"])).code, 0);
  t.false(existsSync(path.join(node.root, "etc/pve/nodes/pve1/qemu-server/150.conf")));
});
