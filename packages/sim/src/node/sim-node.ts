import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PctError } from "./pct-error.js";
import { simLayout, type SimLayout } from "./sim-layout.js";

/** The templates a new simulated node offers in `local:vztmpl/`. */
export const DEFAULT_TEMPLATES = ["debian-12-standard_12.7-1_amd64.tar.zst", "ubuntu-24.04-standard_24.04-2_amd64.tar.zst"];

/** One simulated node: its name, its paths, and its environment-driven settings. */
export interface SimNode {
  readonly name: string;
  readonly layout: SimLayout;
  /** Overrides Proxmox's lock timeouts (10 s, 5 s for create) for tests. */
  readonly lockTimeoutS: number | null;
  /** The PVE major version whose texts and defaults are reproduced where 8 and 9 differ. */
  readonly pve: 8 | 9;
}

/**
 * The node named by LOCKSTEP_SIM_ROOT, laid out on first use as Proxmox lays out a node:
 * `/etc/pve/lxc` is a link to this node's directory under `/etc/pve/nodes`.
 */
export function openSimNode(env: NodeJS.ProcessEnv): SimNode {
  const root = env.LOCKSTEP_SIM_ROOT;
  if (!root) throw new PctError("LOCKSTEP_SIM_ROOT is not set: it names the simulated node's root directory", 2);
  const absolute = path.resolve(root);
  const hostnameFile = path.join(absolute, "etc/hostname");
  const name = env.LOCKSTEP_SIM_NODE || (existsSync(hostnameFile) ? readFileSync(hostnameFile, "utf8").trim() : "") || "pve1";
  const layout = simLayout(absolute, name);
  if (!existsSync(layout.lxcDir)) initialise(layout, name, hostnameFile);
  const timeout = env.LOCKSTEP_SIM_LOCK_TIMEOUT_S ? Number(env.LOCKSTEP_SIM_LOCK_TIMEOUT_S) : null;
  if (timeout !== null && !(timeout > 0)) throw new PctError("LOCKSTEP_SIM_LOCK_TIMEOUT_S must be a positive number", 2);
  const pve = env.LOCKSTEP_SIM_PVE || "9";
  if (pve !== "8" && pve !== "9") throw new PctError("LOCKSTEP_SIM_PVE must be 8 or 9", 2);
  return { name, layout, lockTimeoutS: timeout, pve: pve === "8" ? 8 : 9 };
}

function initialise(layout: SimLayout, name: string, hostnameFile: string): void {
  for (const dir of [layout.lockDir, layout.nodesDir, layout.qemuDir, layout.tasksDir, layout.templateCache, layout.stateDir, path.join(layout.stateDir, "ct")]) {
    mkdirSync(dir, { recursive: true });
  }
  if (!existsSync(hostnameFile)) writeFileSync(hostnameFile, `${name}\n`);
  for (const template of DEFAULT_TEMPLATES) {
    const file = path.join(layout.templateCache, template);
    if (!existsSync(file)) writeFileSync(file, "");
  }
  if (!existsSync(layout.tasksActive)) writeFileSync(layout.tasksActive, "");
  // pmxcfs's per-node links (pve-cluster src/pmxcfs/pmxcfs.c create_symlinks); `local` is what
  // PVE::Cluster::check_cfs_is_mounted looks for, so it comes last.
  for (const [target, at] of [[`nodes/${name}/lxc`, layout.lxcDir], [`nodes/${name}`, path.join(layout.root, "etc/pve/local")]] as const) {
    try {
      symlinkSync(target, at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
}
