import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { SimContext } from "../commands/sim-context.js";
import { PctError } from "../node/pct-error.js";
import { readRuntime } from "../node/runtime-state.js";
import { withTask } from "../node/tasks.js";
import { haManaged, haResource, updateResources } from "./ha-resources.js";

const APPLIER = fileURLToPath(new URL("./ha-apply.js", import.meta.url));

/**
 * pve-container src/PVE/API2/LXC/Status.pm vm_start / vm_stop for an HA-managed CT: a
 * `hastart`/`hastop` task prints `Requesting HA start for CT <id>` (or stop), runs `ha-manager`
 * and returns; the CT reaches the state later. Here a detached helper applies it after
 * LOCKSTEP_SIM_HA_DELAY_MS (default 2000). Returns null when the CT is not HA-managed.
 */
export function haPowerRequest(ctx: SimContext, vmid: number, want: "started" | "stopped"): string | null {
  const { layout, name } = ctx.node;
  if (!haManaged(layout, vmid)) return null;
  const running = readRuntime(layout, vmid).running;
  // Status.pm checks these before the HA branch.
  if (want === "started" && running) throw new PctError(`CT ${vmid} already running`);
  if (want === "stopped" && !running) throw new PctError(`CT ${vmid} not running`);
  return withTask(layout, name, want === "started" ? "hastart" : "hastop", vmid, () => {
    updateResources(layout, (all) => all.map((r) => (r.sid === `ct:${vmid}` ? { ...r, state: want } : r)));
    const delay = ctx.env.LOCKSTEP_SIM_HA_DELAY_MS ?? "2000";
    spawn(process.execPath, [APPLIER, layout.root, name, String(vmid), want, delay], { detached: true, stdio: "ignore" }).unref();
    return `Requesting HA ${want === "started" ? "start" : "stop"} for CT ${vmid}\n`;
  });
}

/**
 * pve-container src/PVE/API2/LXC.pm destroy_vm: an HA-managed CT is destroyed only with
 * `--purge` (`service_is_configured`). Called before the destroy task.
 */
export function haCheckDestroy(ctx: SimContext, vmid: number, purge: boolean): void {
  if (!purge && haResource(ctx.node.layout, vmid)) throw new PctError(`unable to remove CT ${vmid} - used in HA resources and purge parameter not set.`);
}

/** destroy_vm with `--purge`: removes the HA resource and says so, as Proxmox prints it. */
export function haPurge(ctx: SimContext, vmid: number, purge: boolean): string {
  if (!purge) return "";
  const configured = haResource(ctx.node.layout, vmid) !== null;
  if (configured) updateResources(ctx.node.layout, (all) => all.filter((r) => r.sid !== `ct:${vmid}`));
  return `purging CT ${vmid} from related configurations..\n${configured ? `NOTE: removed CT ${vmid} from HA resource configuration.\n` : ""}`;
}
