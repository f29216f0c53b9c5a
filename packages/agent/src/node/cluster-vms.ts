import path from "node:path";
import type { ClusterFs } from "./cluster-fs.js";
import type { NodePaths } from "./node-paths.js";

/** A guest of the cluster (a QEMU VM, or a container) and the node that holds its config; its VMID is taken cluster-wide. */
export interface ClusterVm {
  readonly vmid: number;
  readonly node: string;
}

// pve-cluster src/pmxcfs/memdb.c: name_is_vm_config (`<vmid>.conf`, no leading zero) and
// valid_nodename; memdb_recreate_vmlist lists `nodes/<node>/qemu-server` for VMs, the list
// check_vmid_unused (src/PVE/Cluster.pm) refuses a create with `VM <id> already exists`.
const VM_CONFIG = /^([1-9]\d*)\.conf$/;
const NODE_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;

/**
 * Every QEMU VM of the cluster, from each node's `qemu-server` directory; sorted by VMID.
 * Read through the cluster filesystem's port: an untrusted /etc/pve is an error, never "no VMs".
 */
export function listClusterVms(
  paths: Pick<NodePaths, "nodesDir">,
  fs: Pick<ClusterFs, "listDir">,
): Promise<ClusterVm[]> {
  return listClusterGuests(paths, fs, "qemu-server");
}

/**
 * Every container of the cluster and the node whose `lxc` directory holds its config, as
 * pmxcfs shows them on this node: where a container moved (pct migrate, HA) is read from one
 * node, whichever node its record names. Sorted by VMID; untrusted /etc/pve is an error.
 */
export function listClusterContainers(
  paths: Pick<NodePaths, "nodesDir">,
  fs: Pick<ClusterFs, "listDir">,
): Promise<ClusterVm[]> {
  return listClusterGuests(paths, fs, "lxc");
}

async function listClusterGuests(
  paths: Pick<NodePaths, "nodesDir">,
  fs: Pick<ClusterFs, "listDir">,
  dir: "qemu-server" | "lxc",
): Promise<ClusterVm[]> {
  const nodes = ((await fs.listDir(paths.nodesDir)) ?? []).filter((name) => NODE_NAME.test(name));
  const perNode = await Promise.all(
    nodes.map(async (node) =>
      // A node without guests of this type may have no such directory: an empty list.
      ((await fs.listDir(path.join(paths.nodesDir, node, dir))) ?? [])
        .map((file) => VM_CONFIG.exec(file)?.[1])
        .filter((vmid): vmid is string => vmid !== undefined)
        .map((vmid) => ({ vmid: Number(vmid), node })),
    ),
  );
  return perNode.flat().sort((a, b) => a.vmid - b.vmid);
}
