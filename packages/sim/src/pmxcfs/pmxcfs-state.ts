import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { replaceFile } from "../node/replace-file.js";

/** What the node's pmxcfs is: served (mounted), or down (stopped: an empty `etc/pve`). */
export interface PmxcfsState {
  readonly state: "mounted" | "stopped";
  /** Kept across stop and start, as a node without quorum stays so when pmxcfs restarts. */
  readonly quorate: boolean;
  /** The server's pid while mounted. */
  readonly pid: number | null;
}

const STATE_FILE = "var/lib/lockstep-sim/pmxcfs.json";

/** The node's pmxcfs state, or null when the node has none (plain directories). */
export function readPmxcfsState(root: string): PmxcfsState | null {
  const file = path.join(root, STATE_FILE);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as PmxcfsState) : null;
}

/** Records the node's pmxcfs state. */
export function writePmxcfsState(root: string, state: PmxcfsState): void {
  const file = path.join(root, STATE_FILE);
  mkdirSync(path.dirname(file), { recursive: true });
  replaceFile(file, JSON.stringify(state));
}

/** Forgets it: the node is back on plain directories. */
export function clearPmxcfsState(root: string): void {
  rmSync(path.join(root, STATE_FILE), { force: true });
}

/**
 * True while the simulated pmxcfs owns the node's `etc/pve` (mounted, or stopped and so an
 * empty directory): nothing else may lay out or write under it then, or a stopped pmxcfs
 * would not look empty. The cluster layout's fallback (symlinks into the cluster dir) asks this.
 */
export function pmxcfsOwnsEtcPve(root: string): boolean {
  return readPmxcfsState(root) !== null;
}
