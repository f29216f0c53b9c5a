import { simNodeToolBins } from "@lockstep/sim";
import { FLOCK_BIN } from "../node/flock.js";

/** The node's tools the doctor asks besides `pct` (whose path is the agent's `pctPath`). */
export interface NodeTools {
  readonly pveversion: string;
  readonly pvesh: string;
  readonly pvesm: string;
  readonly chronyc: string;
  /** systemd's, asked when chrony is not there; a simulated node has none. */
  readonly timedatectl: string | null;
  /** util-linux flock(1), which the agent itself runs to take config locks. */
  readonly flock: string;
}

/**
 * Where PVE 8 and 9 install them: pve-manager bin/Makefile (pvesh, pveversion into /usr/bin),
 * pve-storage src/bin/Makefile (pvesm into /usr/sbin), Debian's chrony and systemd packages.
 */
export const PROXMOX_TOOLS: NodeTools = {
  pveversion: "/usr/bin/pveversion",
  pvesh: "/usr/bin/pvesh",
  pvesm: "/usr/sbin/pvesm",
  chronyc: "/usr/bin/chronyc",
  timedatectl: "/usr/bin/timedatectl",
  flock: FLOCK_BIN,
};

/** A simulated node's (packages/sim): its own pveversion, pvesh, pvesm and chronyc. */
export const SIMULATED_TOOLS: NodeTools = { ...simNodeToolBins, timedatectl: null, flock: FLOCK_BIN };
