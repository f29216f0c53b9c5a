import path from "node:path";

/** Every path of a simulated node, rooted in its directory. */
export interface SimLayout {
  readonly root: string;
  /** `/etc/pve`: pmxcfs's mount point (or the fallback directory of links, cluster/pve-fallback.ts). */
  readonly pveDir: string;
  readonly lockDir: string;
  readonly nodesDir: string;
  readonly lxcDir: string;
  /** This node's QEMU VM configs (`qemu-server`), which share the VMID space with containers. */
  readonly qemuDir: string;
  readonly tasksDir: string;
  readonly tasksActive: string;
  readonly templateCache: string;
  readonly stateDir: string;
  readonly callsLog: string;
  readonly faultsFile: string;
}

/** The layout of the node rooted at `root`; `node` names the node in /etc/pve/nodes. */
export function simLayout(root: string, node = "pve1"): SimLayout {
  const r = (p: string): string => path.join(root, p);
  return {
    root,
    pveDir: r("etc/pve"),
    lockDir: r("run/lock/lxc"),
    nodesDir: r(`etc/pve/nodes/${node}/lxc`),
    lxcDir: r("etc/pve/lxc"),
    qemuDir: r(`etc/pve/nodes/${node}/qemu-server`),
    tasksDir: r("var/log/pve/tasks"),
    tasksActive: r("var/log/pve/tasks/active"),
    templateCache: r("var/lib/vz/template/cache"),
    stateDir: r("var/lib/lockstep-sim"),
    callsLog: r("var/lib/lockstep-sim/calls.jsonl"),
    faultsFile: r("etc/lockstep-sim/faults.json"),
  };
}

/** The config-lock file of one container. */
export function lockPath(layout: SimLayout, vmid: number): string {
  return path.join(layout.lockDir, `pve-config-${vmid}.lock`);
}

/** A container's config file. */
export function configPath(layout: SimLayout, vmid: number): string {
  return path.join(layout.lxcDir, `${vmid}.conf`);
}

/** A container's root filesystem. */
export function rootfsPath(layout: SimLayout, vmid: number): string {
  return path.join(layout.root, "var/lib/lxc", String(vmid), "rootfs");
}

/** The simulator's own runtime state of a container (running, systemd). */
export function runtimePath(layout: SimLayout, vmid: number): string {
  return path.join(layout.stateDir, "ct", `${vmid}.json`);
}

/** Written last when the node's root is laid out: its name and cluster (sim-node.ts). */
export function nodeMarkerPath(layout: SimLayout): string {
  return path.join(layout.stateDir, "node.json");
}
