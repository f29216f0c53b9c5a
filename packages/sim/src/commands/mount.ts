import { removeLock, setLock } from "../config/guest-lock.js";
import { parsePctArgs, parseVmid } from "./pct-args.js";
import type { SimContext } from "./sim-context.js";

/**
 * `pct mount <vmid>`: pve-container src/PVE/CLI/pct.pm mount. In the pct process, no task:
 * `set_lock($vmid, 'mounted')` inside lock_config, then the mount; the lock property stays
 * until `pct unmount`, with no flock held and no process behind it.
 */
export function mount(ctx: SimContext, args: string[]): string {
  const vmid = parseVmid(parsePctArgs(args, ["vmid"], {}).positionals[0]!);
  // Proxmox's outer lock_config and set_lock's own are one re-entrant flock: one hold here.
  setLock(ctx, vmid, "mounted");
  ctx.fault.at("midway");
  return `mounted CT ${vmid} in '/var/lib/lxc/${vmid}/rootfs'\n`;
}

/** `pct unmount <vmid>`: pct.pm unmount, `remove_lock($vmid, 'mounted')` after umount_all. */
export function unmount(ctx: SimContext, args: string[]): string {
  const vmid = parseVmid(parsePctArgs(args, ["vmid"], {}).positionals[0]!);
  removeLock(ctx, vmid, "mounted");
  return "";
}
