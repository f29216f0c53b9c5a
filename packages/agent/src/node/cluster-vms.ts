import { readdir } from "node:fs/promises";
import path from "node:path";
import type { NodePaths } from "./node-paths.js";

/** A QEMU VM: it holds its VMID cluster-wide, so no container can be created on it. */
export interface ClusterVm {
  readonly vmid: number;
  readonly node: string;
}

// pve-cluster src/pmxcfs/memdb.c: name_is_vm_config (`<vmid>.conf`, no leading zero) and
// valid_nodename; memdb_recreate_vmlist lists `nodes/<node>/qemu-server` for VMs, the list
// check_vmid_unused (src/PVE/Cluster.pm) refuses a create with `VM <id> already exists`.
const VM_CONFIG = /^([1-9]\d*)\.conf$/;
const NODE_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;

/** Every QEMU VM of the cluster, from each node's `qemu-server` directory; sorted by VMID. */
export async function listClusterVms(paths: Pick<NodePaths, "nodesDir">): Promise<ClusterVm[]> {
  const nodes = (await readdirOrEmpty(paths.nodesDir)).filter((name) => NODE_NAME.test(name));
  const perNode = await Promise.all(
    nodes.map(async (node) =>
      (await readdirOrEmpty(path.join(paths.nodesDir, node, "qemu-server")))
        .map((file) => VM_CONFIG.exec(file)?.[1])
        .filter((vmid): vmid is string => vmid !== undefined)
        .map((vmid) => ({ vmid: Number(vmid), node })),
    ),
  );
  return perNode.flat().sort((a, b) => a.vmid - b.vmid);
}

// A node without VMs has no `qemu-server` directory; a missing one is an empty list.
async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw err;
  }
}
