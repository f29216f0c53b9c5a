import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { startedCalls } from "@lockstep/sim";
import { agentOnSim, TEMPLATE } from "./agent-harness.js";

// QEMU VM configs where pmxcfs keeps them (`/etc/pve/nodes/<node>/qemu-server/<vmid>.conf`,
// pve-cluster src/pmxcfs/memdb.c memdb_recreate_vmlist), every node's visible from each node.
function addVm(root: string, node: string, vmid: number): void {
  const dir = path.join(root, "etc/pve/nodes", node, "qemu-server");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${vmid}.conf`), `name: vm${vmid}\nmemory: 2048\n`);
}

test("ListContainers reports the cluster's VMs apart from the node's containers", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["create", "101", TEMPLATE, "--storage", "local-lvm", "--hostname", "web-1"]);
  addVm(agent.root, "pve1", 150);
  addVm(agent.root, "pve2", 120);
  const listing = await agent.client.listContainers({});
  t.deepEqual(
    listing.containers.map((c) => c.vmid),
    [101],
  );
  t.deepEqual(listing.vms, [
    { vmid: 120, node: "pve2" },
    { vmid: 150, node: "pve1" },
  ]);
});

test("a create on a VM's VMID is ALREADY_EXISTS of a qemu guest, answered without any pct create", async (t) => {
  const agent = await agentOnSim(t);
  await agent.pct(["list"]);
  addVm(agent.root, "pve2", 150);
  const err = await t.throwsAsync(
    agent.client.createContainer({
      requestId: "create-vm-150",
      vmid: 150,
      template: TEMPLATE,
      hostname: "web-1",
      unprivileged: true,
      ownershipTag: "lockstep-c1",
    }),
  );
  t.is((err as { code?: string }).code, "ALREADY_EXISTS");
  t.regex(err?.message ?? "", /VM 150 already exists on node 'pve2'/);
  t.is(startedCalls(agent.root, "create").length, 0);
});
