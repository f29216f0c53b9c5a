import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { SimContext } from "../commands/sim-context.js";
import { PctError } from "../node/pct-error.js";
import type { TaskIo } from "../tasks/task-command.js";
import { haResource, updateResources } from "./ha-resources.js";

const APPLIER = fileURLToPath(new URL("./ha-apply.js", import.meta.url));

/**
 * pve-container src/PVE/API2/LXC/Status.pm vm_start / vm_stop for an HA-managed CT: the
 * `hastart`/`hastop` task prints `Requesting HA start for CT <id>` (or stop), runs `ha-manager`
 * and returns; the CT reaches the state later. Here a detached helper applies it after
 * LOCKSTEP_SIM_HA_DELAY_MS (default 2000).
 */
export function requestHaState(ctx: SimContext, vmid: number, want: "started" | "stopped", io: TaskIo): void {
  const { layout, name } = ctx.node;
  io.print(`Requesting HA ${want === "started" ? "start" : "stop"} for CT ${vmid}\n`);
  updateResources(layout, (all) => all.map((r) => (r.sid === `ct:${vmid}` ? { ...r, state: want } : r)));
  const delay = ctx.env.LOCKSTEP_SIM_HA_DELAY_MS ?? "2000";
  spawn(process.execPath, [APPLIER, layout.root, name, String(vmid), want, delay], {
    detached: true,
    stdio: "ignore",
  }).unref();
}

/**
 * pve-container src/PVE/API2/LXC.pm destroy_vm: an HA-managed CT is destroyed only with
 * `--purge` (`service_is_configured`). Called before the destroy task.
 */
export function haCheckDestroy(ctx: SimContext, vmid: number, purge: boolean): void {
  if (!purge && haResource(ctx.node.layout, vmid))
    throw new PctError(`unable to remove CT ${vmid} - used in HA resources and purge parameter not set.`);
}

/** destroy_vm with `--purge`: removes the HA resource and says so, as Proxmox prints it. */
export function haPurge(ctx: SimContext, vmid: number, purge: boolean): string {
  if (!purge) return "";
  const configured = haResource(ctx.node.layout, vmid) !== null;
  if (configured) updateResources(ctx.node.layout, (all) => all.filter((r) => r.sid !== `ct:${vmid}`));
  return `purging CT ${vmid} from related configurations..\n${configured ? `NOTE: removed CT ${vmid} from HA resource configuration.\n` : ""}`;
}
