import { mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { layOutSimNode } from "../node/sim-node.js";
import { joinCluster } from "./cluster-members.js";

/** One node of a simulated cluster: its name, its root, and the environment its `pct` needs. */
export interface SimClusterNode {
  readonly name: string;
  readonly root: string;
  /** LOCKSTEP_SIM_ROOT, LOCKSTEP_SIM_NODE and LOCKSTEP_SIM_CLUSTER for this node. */
  readonly env: Readonly<Record<string, string>>;
}

/** A simulated cluster: the shared cluster directory, its name and its nodes. */
export interface SimCluster {
  readonly dir: string;
  readonly name: string;
  readonly nodes: readonly SimClusterNode[];
}

/** What to build: how many nodes (`pve1`..`pveN`) or their names, where, and the cluster's name. */
export interface SimClusterOptions {
  readonly nodes: number | readonly string[];
  /** Parent directory of the cluster directory and the node roots (default: a new temporary one). */
  readonly base?: string;
  /** corosync's cluster_name (default: `lockstep-sim`). */
  readonly name?: string;
}

/**
 * Lays out a cluster of nodes sharing one cluster filesystem: `<base>/cluster` (what pmxcfs
 * holds) and one root per node, `<base>/<node>`, all joined, then each laid out (its
 * `/etc/pve` the fallback of links unless a pmxcfs gets mounted there). Nodes join in order,
 * so `pve1` has nodeid 1.
 */
export function createSimCluster(options: SimClusterOptions): SimCluster {
  const base = options.base ?? mkdtempSync(path.join(os.tmpdir(), "sim-cluster-"));
  const dir = path.join(base, "cluster");
  const name = options.name ?? "lockstep-sim";
  const names =
    typeof options.nodes === "number" ? Array.from({ length: options.nodes }, (_, i) => `pve${i + 1}`) : options.nodes;
  mkdirSync(dir, { recursive: true });
  const nodes = names.map((node) => ({
    name: node,
    root: path.join(base, node),
    env: { LOCKSTEP_SIM_ROOT: path.join(base, node), LOCKSTEP_SIM_NODE: node, LOCKSTEP_SIM_CLUSTER: dir },
  }));
  for (const node of nodes) joinCluster(dir, node.name, node.root, name);
  // Laid out once all have joined, so that every node's `.members` lists them all.
  for (const node of nodes) layOutSimNode(node.root, node.name, dir);
  return { dir, name, nodes };
}
