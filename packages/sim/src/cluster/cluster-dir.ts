import path from "node:path";

/**
 * The shared cluster filesystem's backing directory (LOCKSTEP_SIM_CLUSTER): what pmxcfs holds
 * for every node (pve-cluster src/PVE/Cluster/Setup.pm gen_local_dirs, src/PVE/Corosync.pm),
 * plus the simulator's own bookkeeping under `.lockstep-sim/` (no Proxmox file lives there).
 */
export interface ClusterDir {
  readonly dir: string;
  readonly nodes: string;
  readonly priv: string;
  readonly ha: string;
  readonly storageCfg: string;
  readonly corosyncConf: string;
  /** `.lockstep-sim/roots/<node>`: each member's LOCKSTEP_SIM_ROOT, so migrate can reach it. */
  readonly roots: string;
  /** Serialises joins (corosync.conf is rewritten by each). */
  readonly joinLock: string;
}

/** The layout of the cluster directory `dir`. */
export function clusterDir(dir: string): ClusterDir {
  const d = path.resolve(dir);
  return {
    dir: d,
    nodes: path.join(d, "nodes"),
    priv: path.join(d, "priv"),
    ha: path.join(d, "ha"),
    storageCfg: path.join(d, "storage.cfg"),
    corosyncConf: path.join(d, "corosync.conf"),
    roots: path.join(d, ".lockstep-sim", "roots"),
    joinLock: path.join(d, ".lockstep-sim", "join.lock"),
  };
}

/**
 * The directories Setup.pm gen_local_dirs makes for a node under `base` (the cluster
 * filesystem): `priv`, `nodes/<node>/{lxc,qemu-server,openvz,priv}`.
 */
export function nodeLocalDirs(base: string, node: string): string[] {
  const own = path.join(base, "nodes", node);
  return [path.join(base, "priv"), ...["lxc", "qemu-server", "openvz", "priv"].map((d) => path.join(own, d))];
}
