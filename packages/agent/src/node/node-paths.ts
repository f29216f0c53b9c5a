import path from "node:path";

/** Where a node keeps what the agent reads directly. Real Proxmox paths by default. */
export interface NodePaths {
  /** `pct` itself. */
  readonly pct: string;
  /** Config flock files: `pve-config-<vmid>.lock`. */
  readonly lockDir: string;
  /** Container configs: `<vmid>.conf`. */
  readonly configDir: string;
  /**
   * The cluster filesystem's mount point (`/etc/pve`): trusted only while its `local` link is
   * there and writable (node/cluster-fs.ts); every read under it goes through that port.
   */
  readonly pveDir: string;
  /**
   * Every node's directory in the cluster filesystem (`/etc/pve/nodes`): each node's
   * `qemu-server/<vmid>.conf` is a QEMU VM, visible from every node.
   */
  readonly nodesDir: string;
  /** Proxmox's active task list. */
  readonly tasksActive: string;
  /** Guest migration locks: `pve-migrate-<vmid>` (pve-guest-common GuestHelpers.pm $lockdir). */
  readonly migrationLockDir: string;
  /** The `/proc` to read locks and processes from. */
  readonly procRoot: string;
  /** Extra environment for `pct` (the simulator's root). */
  readonly pctEnv: Readonly<Record<string, string>>;
}

/** The paths of a simulated node rooted at `root`; `pct` is the simulator's executable. */
export function simulatedPaths(root: string, simPct: string): NodePaths {
  return {
    pct: simPct,
    lockDir: path.join(root, "run/lock/lxc"),
    configDir: path.join(root, "etc/pve/lxc"),
    ...clusterPaths(path.join(root, "etc/pve/lxc")),
    tasksActive: path.join(root, "var/log/pve/tasks/active"),
    migrationLockDir: path.join(root, "var/lock/pve-manager"),
    procRoot: "/proc",
    pctEnv: { LOCKSTEP_SIM_ROOT: root },
  };
}

/** The lock file of one container. */
export function lockFilePath(paths: NodePaths, vmid: number): string {
  return path.join(paths.lockDir, `pve-config-${vmid}.lock`);
}

/** Proxmox's guest migration lock of one guest (GuestHelpers.pm guest_migration_lock). */
export function migrationLockPath(paths: NodePaths, vmid: number): string {
  return path.join(paths.migrationLockDir, `pve-migrate-${vmid}`);
}

/**
 * The cluster filesystem's paths next to the container config directory (`<pve>/lxc`): the
 * mount point `<pve>` and `<pve>/nodes`, as pmxcfs lays it out.
 */
export function clusterPaths(configDir: string): Pick<NodePaths, "pveDir" | "nodesDir"> {
  const pveDir = path.dirname(configDir);
  return { pveDir, nodesDir: path.join(pveDir, "nodes") };
}
