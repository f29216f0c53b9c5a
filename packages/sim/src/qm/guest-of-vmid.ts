import { existsSync } from "node:fs";
import path from "node:path";
import { configPath, type SimLayout } from "../node/sim-layout.js";

/** Which kind of guest holds a VMID on this node. */
export interface Guest {
  readonly type: "lxc" | "qemu";
  readonly node: string;
}

/** A VM's config: `/etc/pve/nodes/<node>/qemu-server/<vmid>.conf`. */
export function qemuConfigPath(layout: SimLayout, vmid: number): string {
  return path.join(layout.qemuDir, `${vmid}.conf`);
}

/**
 * The guest holding `vmid`, as pmxcfs's vmlist knows it (CTs and VMs share one VMID space), or
 * null. The node is the one whose directory holds the config.
 */
export function guestOfVmid(layout: SimLayout, vmid: number): Guest | null {
  const node = path.basename(path.dirname(layout.qemuDir));
  if (existsSync(configPath(layout, vmid))) return { type: "lxc", node };
  if (existsSync(qemuConfigPath(layout, vmid))) return { type: "qemu", node };
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
