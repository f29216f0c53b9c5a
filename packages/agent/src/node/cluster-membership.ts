import path from "node:path";
import type { ClusterFsPort } from "./cluster-fs.js";

/** The Proxmox cluster a node belongs to, as pmxcfs reports it. */
export interface ClusterMembership {
  /** This node's name as pmxcfs knows it (`nodename`: the host name Proxmox runs under); empty when the file names none. */
  readonly nodename: string;
  /** The cluster's name; empty for a node that is a cluster of its own (no corosync). */
  readonly name: string;
  /** Every member node, sorted; just this node when it is a cluster of its own. */
  readonly members: readonly string[];
}

/**
 * Reads `/etc/pve/.members`, which pmxcfs writes from corosync's view (pve-cluster
 * src/pmxcfs/status.c cfs_create_memberlist_msg): `nodename` always, `cluster.name` and the
 * `nodelist` keys when the node is clustered. PVE::Cluster get_members decodes
 * the same JSON. A file that is not that JSON is an error, never "no cluster".
 */
export async function readClusterMembership(
  fs: Pick<ClusterFsPort, "readFile">,
  pveDir: string,
  node: string,
): Promise<ClusterMembership> {
  const file = path.join(pveDir, ".members");
  const text = await fs.readFile(file);
  if (text === null) throw new Error(`${file} is missing on a mounted /etc/pve`);
  let parsed: { nodename?: unknown; cluster?: { name?: unknown }; nodelist?: Record<string, unknown> };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (err) {
    throw new Error(`${file} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const nodename = typeof parsed.nodename === "string" ? parsed.nodename : "";
  const name = parsed.cluster?.name;
  if (name === undefined) return { nodename, name: "", members: [node] };
  if (typeof name !== "string" || name === "" || typeof parsed.nodelist !== "object" || parsed.nodelist === null)
    throw new Error(`${file} names no cluster and node list as pmxcfs writes them`);
  return { nodename, name, members: Object.keys(parsed.nodelist).sort() };
}
