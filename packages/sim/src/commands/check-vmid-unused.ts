import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { PctError } from "../node/pct-error.js";
import type { SimLayout } from "../node/sim-layout.js";

/**
 * pve-cluster Cluster.pm `check_vmid_unused`: a VMID is taken by any guest of the cluster, a CT
 * (`nodes/<n>/lxc/<vmid>.conf`) or a QEMU VM (`nodes/<n>/qemu-server/<vmid>.conf`):
 * `CT <id> already exists on node '<n>'` or `VM <id> already exists on node '<n>'`.
 */
export function checkVmidUnused(layout: SimLayout, vmid: number): void {
  const nodes = path.join(layout.root, "etc/pve/nodes");
  if (!existsSync(nodes)) return;
  for (const node of readdirSync(nodes).sort()) {
    if (existsSync(path.join(nodes, node, "qemu-server", `${vmid}.conf`))) throw new PctError(`VM ${vmid} already exists on node '${node}'`);
    if (existsSync(path.join(nodes, node, "lxc", `${vmid}.conf`))) throw new PctError(`CT ${vmid} already exists on node '${node}'`);
  }
}
