import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { withPrivateLock } from "../locking/flock.js";
import { replaceFile } from "../node/replace-file.js";
import { pmxcfsOwnsEtcPve } from "../pmxcfs/pmxcfs-state.js";
import type { SimLayout } from "../node/sim-layout.js";

/** Who the simulated HA stack's own `pct` calls say they are (LOCKSTEP_SIM_CALLER). */
export const HA_CALLER = "proxmox-ha";

/** One HA resource (`ct:<vmid>`) and its requested state, as in `/etc/pve/ha/resources.cfg`. */
export interface HaResource {
  sid: string;
  state: string;
}

/** `/etc/pve/ha/resources.cfg` of the node. */
function haResourcesPath(layout: SimLayout): string {
  return path.join(layout.root, "etc/pve/ha/resources.cfg");
}

/** Parses the section-config format: `ct: 101` then tab-indented `state started` lines. */
function readResources(layout: SimLayout): HaResource[] {
  const file = haResourcesPath(layout);
  if (!existsSync(file)) return [];
  const out: HaResource[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const head = /^(ct|vm):\s*(\d+)\s*$/.exec(line);
    const state = /^\s+state\s+(\S+)/.exec(line);
    if (head) out.push({ sid: `${head[1]}:${head[2]}`, state: "started" });
    else if (state && out.length > 0) out[out.length - 1]!.state = state[1]!;
  }
  return out;
}

/** Read-modify-write of resources.cfg (pmxcfs writes are atomic). */
export function updateResources(layout: SimLayout, change: (resources: HaResource[]) => HaResource[]): void {
  const file = haResourcesPath(layout);
  // pmxcfs serves `ha/` itself; a stopped one leaves an empty /etc/pve that nothing may fill.
  if (!pmxcfsOwnsEtcPve(layout.root)) mkdirSync(path.dirname(file), { recursive: true });
  withPrivateLock(path.join(layout.stateDir, "ha.lock"), () => {
    const text = change(readResources(layout))
      .map((r) => `${r.sid.replace(":", ": ")}\n\tstate ${r.state}\n`)
      .join("\n");
    replaceFile(file, text);
  });
}

/** The CT's HA resource, or null (PVE::HA::Config service_is_configured). */
export function haResource(layout: SimLayout, vmid: number): HaResource | null {
  return readResources(layout).find((r) => r.sid === `ct:${vmid}`) ?? null;
}

/**
 * What pve-container asks before a start, stop or migrate: `vm_is_ha_managed($vmid) &&
 * $rpcenv->{type} ne 'ha'` (API2/LXC/Status.pm, API2/LXC.pm migrate_vm). PVE::HA::Config
 * vm_is_ha_managed is configured and not `ignored` here (an assumption, see the README). In a
 * task the HA manager itself runs (LOCKSTEP_SIM_RPCENV=ha, set by ha-relocate.ts) it is false.
 */
export function haManaged(layout: SimLayout, vmid: number): boolean {
  if (process.env.LOCKSTEP_SIM_RPCENV === "ha") return false;
  const resource = haResource(layout, vmid);
  return resource !== null && resource.state !== "ignored";
}
