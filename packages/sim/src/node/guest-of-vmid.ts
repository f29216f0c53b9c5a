import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import type { SimLayout } from "./sim-layout.js";

/** Which kind of guest holds a VMID, and on which node. */
export interface Guest {
  readonly type: "lxc" | "qemu";
  readonly node: string;
}

/** A VM's config on this node: `/etc/pve/nodes/<node>/qemu-server/<vmid>.conf`. */
export function qemuConfigPath(layout: SimLayout, vmid: number): string {
  return path.join(layout.qemuDir, `${vmid}.conf`);
}

/**
 * The guest holding `vmid` anywhere in the cluster, as pmxcfs's vmlist knows it (CTs and VMs
 * share one VMID space, every node's directory counts), or null.
 */
export function guestOfVmid(layout: SimLayout, vmid: number): Guest | null {
  const nodes = path.join(layout.root, "etc/pve/nodes");
  if (!existsSync(nodes)) return null;
  for (const node of readdirSync(nodes).sort()) {
    if (existsSync(path.join(nodes, node, "lxc", `${vmid}.conf`))) return { type: "lxc", node };
    if (existsSync(path.join(nodes, node, "qemu-server", `${vmid}.conf`))) return { type: "qemu", node };
  }
  return null;
}

/**
 * pve-cluster src/PVE/Cluster.pm check_vmid_unused: `VM <id> already exists on node '<n>'` for
 * a QEMU VM, `CT <id> ...` for a container. Returns the text, or null when the VMID is free.
 */
export function vmidInUseMessage(layout: SimLayout, vmid: number): string | null {
  const guest = guestOfVmid(layout, vmid);
  if (!guest) return null;
  return `${guest.type === "qemu" ? "VM" : "CT"} ${vmid} already exists on node '${guest.node}'`;
}
