import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { joinCluster } from "../cluster/cluster-members.js";
import { layOutPveFallback, refreshDotMembers } from "../cluster/pve-fallback.js";
import { PctError } from "./pct-error.js";
import { nodeMarkerPath, simLayout, type SimLayout } from "./sim-layout.js";

/** The templates a new simulated node offers in `local:vztmpl/`. */
const DEFAULT_TEMPLATES = ["debian-12-standard_12.7-1_amd64.tar.zst", "ubuntu-24.04-standard_24.04-2_amd64.tar.zst"];

/** One simulated node: its name, its paths, and its environment-driven settings. */
export interface SimNode {
  readonly name: string;
  readonly layout: SimLayout;
  /** Overrides Proxmox's lock timeouts (10 s, 5 s for create) for tests. */
  readonly lockTimeoutS: number | null;
  /** The PVE major version whose texts and defaults are reproduced where 8 and 9 differ. */
  readonly pve: 8 | 9;
  /** The cluster directory this node is a member of (LOCKSTEP_SIM_CLUSTER), or null: a node alone. */
  readonly cluster: string | null;
}

/** What a node's root records about itself once laid out (`var/lib/lockstep-sim/node.json`). */
interface NodeMarker {
  readonly node: string;
  readonly cluster: string | null;
}

/**
 * The node named by LOCKSTEP_SIM_ROOT (LOCKSTEP_SIM_NODE, LOCKSTEP_SIM_CLUSTER), laid out on
 * first use as Proxmox lays out a node (see layOutSimNode).
 */
export function openSimNode(env: NodeJS.ProcessEnv): SimNode {
  const root = env.LOCKSTEP_SIM_ROOT;
  if (!root) throw new PctError("LOCKSTEP_SIM_ROOT is not set: it names the simulated node's root directory", 2);
  const absolute = path.resolve(root);
  const hostnameFile = path.join(absolute, "etc/hostname");
  const name =
    env.LOCKSTEP_SIM_NODE || (existsSync(hostnameFile) ? readFileSync(hostnameFile, "utf8").trim() : "") || "pve1";
  const cluster = env.LOCKSTEP_SIM_CLUSTER ? path.resolve(env.LOCKSTEP_SIM_CLUSTER) : null;
  const layout = layOutSimNode(absolute, name, cluster);
  const timeout = env.LOCKSTEP_SIM_LOCK_TIMEOUT_S ? Number(env.LOCKSTEP_SIM_LOCK_TIMEOUT_S) : null;
  if (timeout !== null && !(timeout > 0))
    throw new PctError("LOCKSTEP_SIM_LOCK_TIMEOUT_S must be a positive number", 2);
  const pve = env.LOCKSTEP_SIM_PVE || "9";
  if (pve !== "8" && pve !== "9") throw new PctError("LOCKSTEP_SIM_PVE must be 8 or 9", 2);
  return { name, layout, lockTimeoutS: timeout, pve: pve === "8" ? 8 : 9, cluster };
}

/**
 * Lays out the node `name` rooted at `root` on first use: its own directories (locks, tasks,
 * templates), and `/etc/pve` as a node sees it (pmxcfs's links, see cluster/pve-fallback.ts),
 * joining the cluster in `cluster` first when given. Later calls only refresh the fallback's
 * `.members`. A root laid out for one cluster (or none) refuses another.
 */
export function layOutSimNode(root: string, name: string, cluster: string | null): SimLayout {
  const layout = simLayout(root, name);
  const marker = nodeMarkerPath(layout);
  if (existsSync(marker)) {
    const known = JSON.parse(readFileSync(marker, "utf8")) as NodeMarker;
    if (known.cluster !== cluster)
      throw new PctError(
        `simulator: the node at '${root}' belongs to ${known.cluster ? `cluster '${known.cluster}'` : "no cluster"}, not ${cluster ? `'${cluster}'` : "none"} (LOCKSTEP_SIM_CLUSTER)`,
        2,
      );
    if (cluster) refreshDotMembers(layout.pveDir, name, cluster);
    return layout;
  }
  initialise(layout, name, cluster);
  writeFileSync(marker, JSON.stringify({ node: name, cluster } satisfies NodeMarker));
  return layout;
}

function initialise(layout: SimLayout, name: string, cluster: string | null): void {
  const hostnameFile = path.join(layout.root, "etc/hostname");
  for (const dir of [
    path.dirname(hostnameFile),
    layout.lockDir,
    layout.tasksDir,
    layout.templateCache,
    layout.stateDir,
    path.join(layout.stateDir, "ct"),
  ]) {
    mkdirSync(dir, { recursive: true });
  }
  if (!existsSync(hostnameFile)) writeFileSync(hostnameFile, `${name}\n`);
  for (const template of DEFAULT_TEMPLATES) {
    const file = path.join(layout.templateCache, template);
    if (!existsSync(file)) writeFileSync(file, "");
  }
  if (!existsSync(layout.tasksActive)) writeFileSync(layout.tasksActive, "");
  if (cluster) joinCluster(cluster, name, layout.root);
  layOutPveFallback(layout.pveDir, name, cluster);
}
