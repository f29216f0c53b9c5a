import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PmxcfsError } from "./pmxcfs-error.js";

/** Where one node's simulated pmxcfs lives: what the controls and the server agree on. */
export interface PmxcfsSettings {
  /** LOCKSTEP_SIM_ROOT: the node's own root. */
  readonly root: string;
  /** LOCKSTEP_SIM_NODE (else the root's etc/hostname, else `pve1`, as openSimNode names it). */
  readonly node: string;
  /** LOCKSTEP_SIM_CLUSTER: the backing directory the mount serves; null for a cluster of one. */
  readonly cluster: string | null;
  /** `<root>/etc/pve`: pmxcfs's CFSDIR on the node. */
  readonly mountpoint: string;
  /** The server's control socket (node-local, never on pmxcfs). */
  readonly controlSocket: string;
  /** The persisted state (see pmxcfs-state.ts). */
  readonly stateFile: string;
  /** Serializes the controls of one node. */
  readonly controlLock: string;
  /** The server's own output (libfuse's and Python's errors). */
  readonly serverLog: string;
  /** Where the cluster layout's fallback links wait while pmxcfs owns `etc/pve` (fallback-stash.ts). */
  readonly fallbackStash: string;
}

/** The server script, run by Debian's Python (where python3-fusepy installs). */
export const PMXCFS_SERVER = fileURLToPath(new URL("../../pmxcfs/pmxcfs-server.py", import.meta.url));
export const DEBIAN_PYTHON = "/usr/bin/python3";

/** The settings from the simulator's environment (LOCKSTEP_SIM_ROOT, _NODE, _CLUSTER). */
export function pmxcfsSettings(env: NodeJS.ProcessEnv): PmxcfsSettings {
  if (!env.LOCKSTEP_SIM_ROOT)
    throw new PmxcfsError("NO_ROOT", "LOCKSTEP_SIM_ROOT is not set: it names the simulated node's root directory");
  const root = path.resolve(env.LOCKSTEP_SIM_ROOT);
  const hostnameFile = path.join(root, "etc/hostname");
  const node =
    env.LOCKSTEP_SIM_NODE || (existsSync(hostnameFile) ? readFileSync(hostnameFile, "utf8").trim() : "") || "pve1";
  const state = (name: string): string => path.join(root, "var/lib/lockstep-sim", name);
  return {
    root,
    node,
    cluster: env.LOCKSTEP_SIM_CLUSTER ? path.resolve(env.LOCKSTEP_SIM_CLUSTER) : null,
    mountpoint: path.join(root, "etc/pve"),
    controlSocket: path.join(root, "run/lockstep-sim/pmxcfs.sock"),
    stateFile: state("pmxcfs.json"),
    controlLock: state("pmxcfs.lock"),
    serverLog: path.join(root, "var/log/lockstep-sim/pmxcfs.log"),
    fallbackStash: state("pmxcfs-fallback"),
  };
}
